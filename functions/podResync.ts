import { forEachNode } from '../core/node/forEachNode.ts';
import { resyncNode } from '../core/pods/resync.ts';
import { app, type InvocationContext, type Timer } from './azure.ts';
import {
  invocationLogger,
  podDeps,
  runtimeFor,
  sharedRuntime,
  throwIfAnyFailed,
  type RuntimeSource,
} from './runtime.ts';

/** Every minute: list, diff and repair every pod of every virtual node. */
export const podResyncSchedule = '30 * * * * *';

export function podResyncHandler(source: RuntimeSource = sharedRuntime) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const outcomes = await forEachNode(runtime.config.nodes, logger, async (node, log) => {
      const summary = await resyncNode(await podDeps(runtime, node, log), runtime.config.resync);
      log.info('pod resync', { ...summary });
      return summary;
    });
    throwIfAnyFailed('pod resync', outcomes);
  };
}

export const podResync = podResyncHandler();

app.timer('podResync', { schedule: podResyncSchedule, handler: podResync });
