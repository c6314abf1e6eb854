import { updateNodeStatus } from '../core/node/heartbeat.ts';
import { app } from './azure.ts';
import { nodeDeps, perNodeTimer, sharedRuntime, type RuntimeSource } from './runtime.ts';

/** Every minute: post each virtual node's full status (conditions, capacity, nodeInfo). */
export const nodeStatusSchedule = '0 * * * * *';

export function nodeStatusHandler(source: RuntimeSource = sharedRuntime) {
  return perNodeTimer('node status', source, async (runtime, node, log) => {
    const update = await updateNodeStatus(await nodeDeps(runtime, node, log), node);
    log.info('node status posted', { ...update });
  });
}

export const nodeStatus = nodeStatusHandler();

app.timer('nodeStatus', { schedule: nodeStatusSchedule, handler: nodeStatus });
