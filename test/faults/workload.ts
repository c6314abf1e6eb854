/**
 * The fault suite's workload, as a user drives a cluster: two Deployments (one per virtual node)
 * scaled up and down, Jobs on the ACI node that run to completion and are deleted once done, and
 * pods deleted by hand, in an order drawn from a seed. The API server may be down when a step
 * runs: the step is then simply not taken, as `kubectl` would fail for its user.
 */
import { mergePatch } from '../../core/kube/clients.ts';
import { pick } from '../support/random.ts';
import type { World } from './world.ts';

export type Expected = 'Running' | 'Succeeded' | 'Failed' | 'gone';

export interface Workload {
  /** One user action, drawn from `random`. */
  step(random: () => number): Promise<void>;
  /** Distinct pods that had any change in [fromMs, toMs]. */
  touched(fromMs: number, toMs: number): number;
  /**
   * What each of the namespace's pods on `node` should end as (`ns/name` keys): Deployment pods
   * Running, Job pods Succeeded, pods being deleted or deleted since `sinceMs` gone.
   */
  expected(node: string, sinceMs: number): Promise<Map<string, Expected>>;
  /** Why the workload has not settled yet (replicas short, Jobs unfinished, pods terminating), or nothing. */
  unsettled(): Promise<string[]>;
  stop(): Promise<void>;
}

const image = 'busybox';
const maxReplicas = 4;
const maxJobs = 3;

export async function startWorkload(world: World): Promise<Workload> {
  const { core, apps, batch, namespace, nodes } = world;
  const placement = (node: string) => ({
    nodeSelector: { 'kubernetes.io/hostname': node },
    tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
  });
  const deployments = { 'web-aci': nodes.aci, 'web-ecs': nodes.ecs };
  for (const [name, node] of Object.entries(deployments)) {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { ...placement(node), containers: [{ name: 'web', image }] },
          },
        },
      },
    });
  }
  let jobs = 0;

  // Every pod change in the namespace, for "pods touched" and for the pods deleted since: the
  // namespace listed every second (a watch would need resuming after every API server restart;
  // a list simply fails while it is down).
  const seen = new Map<
    string,
    { key: string; node?: string; version?: string; atMs: number[]; deletedAtMs?: number }
  >();
  let polling = true;
  const poll = async (): Promise<void> => {
    while (polling) {
      try {
        const pods = (await core.listNamespacedPod({ namespace })).items;
        const nowMs = Date.now();
        const present = new Set<string>();
        for (const pod of pods) {
          const uid = pod.metadata?.uid;
          if (!uid) continue;
          present.add(uid);
          let entry = seen.get(uid);
          if (!entry) seen.set(uid, (entry = { key: `${namespace}/${pod.metadata?.name}`, atMs: [] }));
          entry.node ??= pod.spec?.nodeName;
          if (entry.version !== pod.metadata?.resourceVersion) {
            entry.version = pod.metadata?.resourceVersion;
            entry.atMs.push(nowMs);
          }
        }
        for (const entry of [...seen.entries()].filter(
          ([uid, e]) => !present.has(uid) && e.deletedAtMs === undefined,
        )) {
          entry[1].deletedAtMs = nowMs;
          entry[1].atMs.push(nowMs);
        }
      } catch {
        // The API server is down: nothing to see until it is back.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const polled = poll();

  const livePods = async (selector?: string) =>
    (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;

  const actions: (() => Promise<void>)[] = [
    // Scale one Deployment.
    async () => {
      const name = Object.keys(deployments)[pick(Math.random, 2)]!;
      await apps.patchNamespacedDeploymentScale(
        { name, namespace, body: { spec: { replicas: 1 + pick(Math.random, maxReplicas) } } },
        mergePatch,
      );
    },
    // Start a Job; delete finished ones beyond the limit.
    async () => {
      const listed = (await batch.listNamespacedJob({ namespace })).items;
      const done = listed.filter((j) => (j.status?.succeeded ?? 0) > 0);
      for (const job of done.slice(0, Math.max(0, listed.length - maxJobs + 1))) {
        await batch.deleteNamespacedJob({
          name: job.metadata!.name!,
          namespace,
          propagationPolicy: 'Background',
        });
      }
      if (listed.length - done.length >= maxJobs) return;
      await batch.createNamespacedJob({
        namespace,
        body: {
          metadata: { name: `job-${jobs++}` },
          spec: {
            backoffLimit: 6,
            template: {
              spec: {
                ...placement(nodes.aci),
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'work',
                    image,
                    env: [
                      { name: 'FAKE_ACI_EXIT_CODE', value: '0' },
                      { name: 'FAKE_ACI_EXIT_AFTER_SECONDS', value: '4' },
                    ],
                  },
                ],
              },
            },
          },
        },
      });
    },
    // Delete one running Deployment pod, as `kubectl delete pod` does (graceful).
    async () => {
      const pods = (await livePods('app')).filter((p) => !p.metadata?.deletionTimestamp);
      const victim = pods[pick(Math.random, pods.length)];
      if (victim) await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace });
    },
  ];
  const weights = [3, 2, 2];

  return {
    async step(random) {
      let draw = random() * weights.reduce((a, b) => a + b, 0);
      let index = 0;
      while (draw >= weights[index]!) draw -= weights[index++]!;
      // The choice inside an action is drawn from the same seed.
      const saved = Math.random;
      Math.random = random;
      try {
        await actions[index]!();
      } catch {
        // The API server is down or refused: the user's command failed; nothing to remember.
      } finally {
        Math.random = saved;
      }
    },
    touched(fromMs, toMs) {
      let n = 0;
      for (const entry of seen.values()) if (entry.atMs.some((t) => t >= fromMs && t <= toMs)) n++;
      return n;
    },
    async expected(node, sinceMs) {
      const expect = new Map<string, Expected>();
      for (const entry of seen.values()) {
        if (entry.node === node && entry.deletedAtMs !== undefined && entry.deletedAtMs >= sinceMs)
          expect.set(entry.key, 'gone');
      }
      for (const pod of await livePods()) {
        if (pod.spec?.nodeName !== node) continue;
        const key = `${namespace}/${pod.metadata!.name}`;
        const ownedByJob = pod.metadata?.ownerReferences?.some((o) => o.kind === 'Job') === true;
        expect.set(key, pod.metadata?.deletionTimestamp ? 'gone' : ownedByJob ? 'Succeeded' : 'Running');
      }
      return expect;
    },
    async unsettled() {
      const problems: string[] = [];
      const pods = await livePods();
      for (const [name] of Object.entries(deployments)) {
        const want = (await apps.readNamespacedDeployment({ name, namespace })).spec?.replicas ?? 0;
        const running = pods.filter(
          (p) =>
            p.metadata?.labels?.app === name &&
            !p.metadata.deletionTimestamp &&
            p.status?.phase === 'Running',
        ).length;
        if (running !== want) problems.push(`${name}: ${running} of ${want} replicas Running`);
      }
      for (const job of (await batch.listNamespacedJob({ namespace })).items) {
        if ((job.status?.succeeded ?? 0) < 1) problems.push(`Job ${job.metadata?.name} not complete`);
      }
      const terminating = pods.filter((p) => p.metadata?.deletionTimestamp).length;
      if (terminating > 0) problems.push(`${terminating} pods still terminating`);
      const unscheduled = pods.filter((p) => !p.spec?.nodeName).length;
      if (unscheduled > 0) problems.push(`${unscheduled} pods not scheduled`);
      return problems;
    },
    async stop() {
      polling = false;
      await polled;
    },
  };
}
