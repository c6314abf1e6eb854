import { resyncNode } from '../core/pods/resync.ts';
import { app } from './azure.ts';
import { perNodeTimer, podDeps, sharedRuntime, type RuntimeSource } from './runtime.ts';

/** Every minute: list, diff and repair every pod of every virtual node. */
export const podResyncSchedule = '30 * * * * *';

export function podResyncHandler(source: RuntimeSource = sharedRuntime) {
  return perNodeTimer('pod resync', source, async (runtime, node, log) => {
    const summary = await resyncNode(await podDeps(runtime, node, log), runtime.config.resync);
    // Every minute per node: a pass that found nothing to do is worth a debug line only.
    const { created, restarted, deleted, collected, statusPatched, errors, skipped } = summary;
    if (created + restarted + deleted + collected + statusPatched + errors + skipped > 0)
      log.info('pod resync', { ...summary });
    else log.debug('pod resync', { ...summary });
  });
}

export const podResync = podResyncHandler();

app.timer('podResync', { schedule: podResyncSchedule, handler: podResync });
