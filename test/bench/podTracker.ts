/**
 * When each pod of a namespace was first seen bound to a node, Running, marked for deletion
 * (deletionTimestamp) and gone, as one watch sees them: times are when the event arrived here.
 * A watch, not a poll: listing a thousand pods every few ms would load the API server the
 * benchmark measures. Resumed from the last resourceVersion whenever the server ends it.
 */
import { Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export interface PodTimes {
  name: string;
  labels: Record<string, string>;
  createdAt: number;
  boundAt?: number;
  node?: string;
  runningAt?: number;
  markedAt?: number;
  goneAt?: number;
}

export interface PodTracker {
  /** Every pod seen, by UID. */
  readonly pods: ReadonlyMap<string, PodTimes>;
  /** Pods whose labels include all of `labels`. */
  select(labels: Record<string, string>): PodTimes[];
  stop(): void;
}

export async function trackPods(admin: KubeConfig, namespace: string): Promise<PodTracker> {
  const pods = new Map<string, PodTimes>();
  let watching = true;
  let lastVersion: string | undefined;
  let watch: AbortController | undefined;
  const seen = (type: string, p: V1Pod) => {
    lastVersion = p.metadata?.resourceVersion ?? lastVersion;
    const uid = p.metadata?.uid;
    if (!uid || type === 'BOOKMARK') return;
    const now = Date.now();
    let times = pods.get(uid);
    if (!times) {
      times = { name: p.metadata?.name ?? '', labels: p.metadata?.labels ?? {}, createdAt: now };
      pods.set(uid, times);
    }
    if (p.spec?.nodeName && times.boundAt === undefined) {
      times.boundAt = now;
      times.node = p.spec.nodeName;
    }
    if (p.status?.phase === 'Running' && times.runningAt === undefined) times.runningAt = now;
    if (p.metadata?.deletionTimestamp && times.markedAt === undefined) times.markedAt = now;
    if (type === 'DELETED' && times.goneAt === undefined) {
      times.goneAt = now;
      times.markedAt ??= now;
    }
  };
  const start = async (): Promise<void> => {
    watch = await new Watch(admin).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      lastVersion
        ? { resourceVersion: lastVersion, allowWatchBookmarks: true }
        : { allowWatchBookmarks: true },
      seen,
      () => {
        if (watching) setTimeout(() => void start().catch(() => undefined), 10);
      },
    );
  };
  await start();
  return {
    pods,
    select: (labels) =>
      [...pods.values()].filter((t) => Object.entries(labels).every(([k, v]) => t.labels[k] === v)),
    stop() {
      watching = false;
      watch?.abort();
    },
  };
}

/** Waits until `done` holds, checking every 100 ms; false when `limitMs` passed first. */
export async function waitUntil(done: () => boolean, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}
