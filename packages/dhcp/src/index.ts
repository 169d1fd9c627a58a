export * from './wire/types.js';
export * from './wire/option-defs.js';
export * from './core/config.js';
export * from './wire/accessors.js';
export * from './wire/option-values.js';
