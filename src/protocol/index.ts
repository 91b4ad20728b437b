export * from './codec.js';
export * from './frames.js';
export * from './http.js';
export * from './limits.js';
export * from './version.js';
export * from './flow.js';
export * from './batch.js';
export * from './auth.js';
