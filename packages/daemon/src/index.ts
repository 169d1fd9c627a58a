export * from './logger.js';
export * from './daemon.js';
export * from './lease-json.js';
export * from './metrics.js';
export * from './notify.js';
