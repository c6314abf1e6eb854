/**
 * The whole function app in one module: importing it registers every function with the host.
 * `npm run build` bundles from here (scripts/bundle.ts) into what package.json's "main" names;
 * the handlers are exported too, so tests can drive the bundle itself.
 */
export { credentialRenewal } from './credentialRenewal.ts';
export { leaseRenew } from './leaseRenew.ts';
export { nodeStatus } from './nodeStatus.ts';
export { kubeletApi } from './kubeletApi.ts';
export { podEvents } from './podEvents.ts';
export { podResync } from './podResync.ts';
