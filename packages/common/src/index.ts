export * from './clock.js';
export * from './ipv4.js';
export * from './counters.js';
