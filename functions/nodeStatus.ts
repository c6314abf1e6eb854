import { forEachNode } from '../core/node/forEachNode.ts';
import { updateNodeStatus } from '../core/node/heartbeat.ts';
import { app, type InvocationContext, type Timer } from './azure.ts';
import {
  invocationLogger,
  nodeDeps,
  runtimeFor,
  sharedRuntime,
  throwIfAnyFailed,
  type RuntimeSource,
} from './runtime.ts';

/** Every minute: post each virtual node's full status (conditions, capacity, nodeInfo). */
export const nodeStatusSchedule = '0 * * * * *';

export function nodeStatusHandler(source: RuntimeSource = sharedRuntime) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const outcomes = await forEachNode(runtime.config.nodes, logger, async (node, log) => {
      const update = await updateNodeStatus(await nodeDeps(runtime, node, log), node);
      log.info('node status posted', { ...update });
      return update;
    });
    throwIfAnyFailed('node status', outcomes);
  };
}

export const nodeStatus = nodeStatusHandler();

app.timer('nodeStatus', { schedule: nodeStatusSchedule, handler: nodeStatus });
