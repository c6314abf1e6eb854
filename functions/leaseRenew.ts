import { forEachNode } from '../core/node/forEachNode.ts';
import { renewLease } from '../core/node/heartbeat.ts';
import { app, type InvocationContext, type Timer } from './azure.ts';
import {
  invocationLogger,
  nodeDeps,
  runtimeFor,
  sharedRuntime,
  throwIfAnyFailed,
  type RuntimeSource,
} from './runtime.ts';

/** Every 10 s: renew each virtual node's Lease in kube-node-lease, recreating a deleted Node. */
export const leaseRenewSchedule = '*/10 * * * * *';

export function leaseRenewHandler(source: RuntimeSource = sharedRuntime) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const outcomes = await forEachNode(runtime.config.nodes, logger, async (node, log) => {
      const renewal = await renewLease(await nodeDeps(runtime, node, log), node);
      if (renewal.nodeCreated || renewal.lease === 'created' || renewal.statusPosted)
        log.info('lease renewed', { ...renewal });
      else log.debug('lease renewed', { ...renewal });
      return renewal;
    });
    throwIfAnyFailed('lease renewal', outcomes);
  };
}

export const leaseRenew = leaseRenewHandler();

app.timer('leaseRenew', { schedule: leaseRenewSchedule, handler: leaseRenew });
