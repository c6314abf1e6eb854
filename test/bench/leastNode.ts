/**
 * The least any kubelet must do, done by the benchmark itself: a watch of the pods bound to a
 * bare Node, one pods/status patch to Running (Ready) per pod as soon as it is bound, and one
 * delete (grace 0, UID precondition) once it carries a deletionTimestamp. No reads, no Events,
 * no state, no provider. The gap between this node and the floor is what running pods costs the
 * control plane itself on this machine; the gap between it and Funclet is Funclet's own.
 */
import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mergePatch } from '../../core/kube/clients.ts';

export interface LeastNode {
  /** Requests sent since the last reset (the watch not counted). */
  requests(): number;
  /** Counts from zero again, on a new watch. */
  reset(): Promise<void>;
  stop(): void;
}

export async function startLeastNode(admin: KubeConfig, node: string, concurrency = 32): Promise<LeastNode> {
  const core = admin.makeApiClient(CoreV1Api);
  const started = new Set<string>();
  const deleted = new Set<string>();
  const queue: (() => Promise<unknown>)[] = [];
  let running = 0;
  let requests = 0;
  const pump = () => {
    while (running < concurrency && queue.length > 0) {
      const next = queue.shift()!;
      running++;
      requests++;
      void next()
        .catch(() => undefined)
        .finally(() => {
          running--;
          pump();
        });
    }
  };
  const run = (work: () => Promise<unknown>) => {
    queue.push(work);
    pump();
  };
  const seen = (type: string, pod: V1Pod) => {
    const { name = '', namespace = '', uid = '' } = pod.metadata ?? {};
    if (type === 'DELETED' || type === 'BOOKMARK' || !uid) return;
    if (pod.metadata?.deletionTimestamp) {
      if (deleted.has(uid)) return;
      deleted.add(uid);
      run(() =>
        core.deleteNamespacedPod({
          name,
          namespace,
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid } },
        }),
      );
      return;
    }
    if (started.has(uid)) return;
    started.add(uid);
    const now = new Date();
    const containers = pod.spec?.containers ?? [];
    run(() =>
      core.patchNamespacedPodStatus(
        {
          name,
          namespace,
          body: {
            metadata: { uid },
            status: {
              phase: 'Running',
              startTime: now,
              conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
                type,
                status: 'True',
                lastTransitionTime: now,
              })),
              containerStatuses: containers.map((c) => ({
                name: c.name,
                image: c.image ?? '',
                imageID: '',
                ready: true,
                restartCount: 0,
                started: true,
                state: { running: { startedAt: now } },
              })),
            },
          },
        },
        mergePatch,
      ),
    );
  };
  // Started afresh (no resourceVersion) whenever it ends and at every reset: a new watch first
  // sends every pod on the node as ADDED, which the sets above make harmless, so nothing that
  // happened between two watches is missed and no old resourceVersion can be refused.
  let watching = true;
  let watch: AbortController | undefined;
  const start = async (): Promise<void> => {
    if (!watching) return;
    const current = await new Watch(admin).watch(
      '/api/v1/pods',
      { fieldSelector: `spec.nodeName=${node}`, allowWatchBookmarks: true },
      seen,
      () => {
        if (watching && watch === current) setTimeout(() => void start().catch(retry), 10);
      },
    );
    watch = current;
  };
  const retry = () => setTimeout(() => void start().catch(retry), 500);
  await start();
  return {
    requests: () => requests,
    async reset() {
      requests = 0;
      const old = watch;
      watch = undefined;
      old?.abort();
      await start();
    },
    stop() {
      watching = false;
      watch?.abort();
    },
  };
}
