export * from './wire/constants.js';
export * from './wire/types.js';
export * from './wire/errors.js';
export * from './wire/codec.js';
export * from './wire/frame.js';
export * from './wire/values.js';
export * from './wire/hba.js';
export * from './wire/loadb.js';
