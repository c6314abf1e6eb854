/**
 * The whole function app in one module: importing it registers every function with the host.
 * `npm run build` bundles from here (scripts/bundle.ts) into what package.json's "main" names;
 * the handlers are exported too, so tests can drive the bundle itself.
 *
 * With APPLICATIONINSIGHTS_CONNECTION_STRING set, the Azure Monitor distro
 * (core/telemetry/azureMonitor.ts) starts loading once the instance's first invocation has
 * finished: loading it takes the event loop for a while (npm run bench -- coldstart), which a cold
 * start's first invocation should not wait behind. That invocation, and any that overlap the
 * load, are not traced. Without the setting nothing of the distro is loaded or registered.
 */
import { app } from './azure.ts';
import { connectionStringSetting, startTelemetry } from '../core/telemetry/azureMonitor.ts';

export { credentialRenewal } from './credentialRenewal.ts';
export { leaseRenew } from './leaseRenew.ts';
export { nodeStatus } from './nodeStatus.ts';
export { kubeletApi } from './kubeletApi.ts';
export { podEvents } from './podEvents.ts';
export { podResync } from './podResync.ts';

/** How long after the first invocation the distro starts loading: past the invocation's answer. */
const telemetryDelayMs = 250;

if (process.env[connectionStringSetting]) {
  const first = app.hook.postInvocation(() => {
    first.dispose();
    setTimeout(() => void startTelemetry(), telemetryDelayMs).unref();
  });
}
