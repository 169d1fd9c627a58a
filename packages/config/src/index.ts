export * from './diagnostics.js';
export * from './dhcpd/index.js';
export * from './keepalived/index.js';
