import { renewLease } from '../core/node/heartbeat.ts';
import { app } from './azure.ts';
import { nodeDeps, perNodeTimer, sharedRuntime, type RuntimeSource } from './runtime.ts';

/** Every 10 s: renew each virtual node's Lease in kube-node-lease, recreating a deleted Node. */
export const leaseRenewSchedule = '*/10 * * * * *';

export function leaseRenewHandler(source: RuntimeSource = sharedRuntime) {
  return perNodeTimer('lease renewal', source, async (runtime, node, log) => {
    const renewal = await renewLease(await nodeDeps(runtime, node, log), node);
    // Every 10 s per node: only what changed something is worth an info line.
    if (renewal.nodeCreated || renewal.lease === 'created' || renewal.statusPosted)
      log.info('lease renewed', { ...renewal });
    else log.debug('lease renewed', { ...renewal });
  });
}

export const leaseRenew = leaseRenewHandler();

app.timer('leaseRenew', { schedule: leaseRenewSchedule, handler: leaseRenew });
