export * from './core/config.js';
