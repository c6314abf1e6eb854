/**
 * The whole function app in one module: importing it registers every function with the host.
 * `npm run build` bundles from here (scripts/bundle.ts) into what package.json's "main" names;
 * the handlers are exported too, so tests can drive the bundle itself.
 *
 * With APPLICATIONINSIGHTS_CONNECTION_STRING set, the app's start hook begins loading the Azure
 * Monitor distro (core/telemetry/azureMonitor.ts) without waiting for it; without the setting
 * nothing of it is loaded or registered.
 */
import { app } from './azure.ts';
import { connectionStringSetting, startTelemetry } from '../core/telemetry/azureMonitor.ts';

export { credentialRenewal } from './credentialRenewal.ts';
export { leaseRenew } from './leaseRenew.ts';
export { nodeStatus } from './nodeStatus.ts';
export { kubeletApi } from './kubeletApi.ts';
export { podEvents } from './podEvents.ts';
export { podResync } from './podResync.ts';

if (process.env[connectionStringSetting])
  app.hook.appStart(() => {
    void startTelemetry();
  });
