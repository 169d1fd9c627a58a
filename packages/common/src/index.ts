export * from './clock.js';
export * from './ipv4.js';
export * from './counters.js';
export * from './pcap.js';
export * from './byte-reader.js';
export * from './arp.js';
export * from './timers.js';
