import { errorMessage, FuncletError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { backoffDelayMs, type Backoff } from './backoff.ts';
import { sleep, type Clock } from './clock.ts';
import { isGone, type PodRef, type PodSource, type WatchedPod } from './podSource.ts';
import type { Poke, PokeType } from './protocol.ts';

/** Whether `after` differs from `before` in status only (both intents known and equal). */
function statusOnly(before: WatchedPod | undefined, after: WatchedPod): boolean {
  return before?.intent !== undefined && before.intent === after.intent;
}

/** A watch that ends sooner than this without a single event (bookmarks count) is treated as failed. */
const minQuietWatchMs = 1_000;

export interface NodeWatchOptions {
  node: string;
  source: PodSource;
  onPoke(poke: Poke): void;
  clock: Clock;
  random: () => number;
  backoff: Backoff;
  logger: Logger;
  /** Page size of the initial list and of every relist. */
  listPageSize: number;
  /** The server-side timeout each watch asks for; jittered so that watches do not restart together. */
  watchTimeoutSeconds: () => number;
}

export interface NodeWatch {
  /** Whether a complete list of the node's pods has succeeded at least once. */
  listed(): boolean;
  /** When the current run of consecutive failures began; undefined while the watch is fine. */
  failingSinceMs(): number | undefined;
  /** Where the next watch resumes from; undefined before the first list or after a 410. */
  resourceVersion(): string | undefined;
  /** Whether the pod (this UID under this namespace and name) is on the node as last seen. */
  watching(pod: { namespace: string; name: string; uid: string }): boolean;
  /** Settles once `signal` has aborted and the loop has let go. */
  done: Promise<void>;
}

/**
 * Keeps one node's pods in view, the way an informer does: list (in pages), poke every pod
 * listed, watch from the list's resourceVersion and poke every change except one to the status
 * alone, resume each later watch from the last resourceVersion seen (events and bookmarks), and
 * list again when the server says that version is gone (410). Pods that disappeared while
 * nobody was watching are poked as DELETED after a relist, so podEvents hears of them without
 * waiting for podResync.
 * Failures retry with backoff; the loop only ends when `signal` aborts.
 */
export function startNodeWatch(o: NodeWatchOptions, signal: AbortSignal): NodeWatch {
  const log = o.logger.child({ node: o.node });
  let resourceVersion: string | undefined;
  let listed = false;
  let failingSince: number | undefined;
  let failures = 0;
  /** 410s since the watch last made progress. */
  let gonesInARow = 0;
  /** Events (bookmarks included) the current watch has delivered. */
  let eventsThisWatch = 0;
  /** Pods the relay believes are on the node, by UID: what a relist and each MODIFIED compare against. */
  let known = new Map<string, WatchedPod>();

  const poke = (type: PokeType, pod: PodRef) => {
    o.onPoke({
      type,
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      resourceVersion: pod.resourceVersion,
    });
  };
  // Health and backoff recover at different moments: the API server answering a watch is
  // enough to call the node healthy again, but the backoff only starts over once the watch
  // has delivered something (or a list succeeded), so a server that accepts watches and cuts
  // them at once is still retried ever more slowly.
  const connected = () => {
    if (failingSince !== undefined) log.info('pod watch recovered', { failures });
    failingSince = undefined;
  };
  const progressed = (what: 'list' | 'watch') => {
    connected();
    failures = 0;
    // Only a watch that got somewhere shows the relist helped; a list alone proves nothing.
    if (what === 'watch') gonesInARow = 0;
  };

  const relist = async (): Promise<string> => {
    const seen = new Map<string, WatchedPod>();
    let next: string | undefined;
    let listVersion: string;
    do {
      const page = await o.source.listPods(o.node, { limit: o.listPageSize, continue: next }, signal);
      for (const pod of page.pods) {
        seen.set(pod.uid, pod);
        poke('MODIFIED', pod);
      }
      listVersion = page.resourceVersion;
      next = page.continue;
    } while (next !== undefined);
    for (const [uid, pod] of known) {
      if (!seen.has(uid)) poke('DELETED', { ...pod, resourceVersion: listVersion });
    }
    known = seen;
    if (!listed) log.info('initial list done', { pods: seen.size, resourceVersion: listVersion });
    listed = true;
    progressed('list');
    return listVersion;
  };

  const watch = (from: string) =>
    o.source.watchPods(
      o.node,
      { resourceVersion: from, timeoutSeconds: o.watchTimeoutSeconds() },
      {
        onOpen: connected,
        onEvent: (event) => {
          if (eventsThisWatch++ === 0) progressed('watch');
          if (event.type === 'BOOKMARK') {
            resourceVersion = event.resourceVersion;
            return;
          }
          resourceVersion = event.pod.resourceVersion;
          const before = known.get(event.pod.uid);
          if (event.type === 'DELETED') known.delete(event.pod.uid);
          else known.set(event.pod.uid, event.pod);
          // As upstream virtual-kubelet: a change to the pod's status alone is not worth a poke.
          // Most are Funclet's own status patches coming back; the rest wait for podResync.
          if (event.type === 'MODIFIED' && statusOnly(before, event.pod)) return;
          poke(event.type, event.pod);
        },
      },
      signal,
    );

  // A function, so that the check after an await is not narrowed away by the one before it.
  const stopped = (): boolean => signal.aborted;
  const run = async () => {
    while (!stopped()) {
      try {
        if (resourceVersion === undefined) resourceVersion = await relist();
        const startedAtMs = o.clock.now();
        eventsThisWatch = 0;
        await watch(resourceVersion);
        // A watch the server ends at once and empty (a proxy cutting streams, say) is not a normal
        // end: resuming without backoff would spin.
        if (eventsThisWatch === 0 && o.clock.now() - startedAtMs < minQuietWatchMs)
          throw new FuncletError(`watching pods on node ${o.node}: the server ended the watch at once`);
        progressed('watch');
        log.debug('pod watch ended; resuming', { resourceVersion });
      } catch (err) {
        if (stopped()) break;
        if (isGone(err)) {
          log.info('resourceVersion too old; listing the node again', {
            resourceVersion,
            problem: errorMessage(err),
          });
          resourceVersion = undefined;
          // A server that keeps answering 410 must not turn the relay into a busy loop of lists.
          if (gonesInARow++ > 0)
            await sleep(o.clock, backoffDelayMs(gonesInARow, o.backoff, o.random), signal);
          continue;
        }
        failingSince ??= o.clock.now();
        const delayMs = backoffDelayMs(failures++, o.backoff, o.random);
        log.warn('pod watch failed; retrying', {
          err,
          attempt: failures,
          retryInMs: delayMs,
          phase: listed && resourceVersion !== undefined ? 'watch' : 'list',
        });
        await sleep(o.clock, delayMs, signal);
      }
    }
  };

  return {
    listed: () => listed,
    failingSinceMs: () => failingSince,
    resourceVersion: () => resourceVersion,
    watching: (pod) => {
      const seen = known.get(pod.uid);
      return seen !== undefined && seen.namespace === pod.namespace && seen.name === pod.name;
    },
    done: run(),
  };
}
