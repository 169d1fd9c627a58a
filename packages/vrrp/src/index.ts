export * from './core/config.js';
export * from './wire/advert.js';
export * from './wire/ip.js';
export * from './wire/checksum.js';
