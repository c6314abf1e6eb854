/**
 * Crash points over a pod's whole life, against the real control plane and Azurite, with the
 * mock and with ACI through the ARM fake. For each scenario (create, running -> status, container
 * restart, delete, a create the provider refuses), each way in (a resync, a poke) and each
 * external call k of that invocation, the k-th call fails before it is made or crashes the
 * invocation after it took effect (test/support/crashPoints.ts). Then fresh composition roots
 * run the next invocations (the poke again, then resyncs), the clock moving on past any creation
 * claim between them, until the pod settles or `settlePasses` have run, and the invariants
 * (test/support/podInvariants.ts) must hold: one live instance per pod, none without a pod, the
 * pod at its expected phase or gone, no record naming an instance that does not exist or
 * outliving its pod.
 *
 * Crash points run on a few virtual nodes at once, one pod at a time on each, so that each
 * node's invariants speak of that one pod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import { creationClaimTtlMs } from '../../core/pods/decide.ts';
import { handlePokes } from '../../core/pods/pokes.ts';
import { resyncNode } from '../../core/pods/resync.ts';
import { MockAnnotation, parseInstanceId } from '../../core/providers/mock/instances.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import type { Poke } from '../../core/relay/protocol.ts';
import { PodRecords } from '../../core/state/podRecords.ts';
import { createRuntime, podDeps, type Runtime } from '../../functions/runtime.ts';
import { aciUnderTest, type ProviderUnderTest } from '../e2e/providers.ts';
import type { FakeAci } from '../fakes/aci/server.ts';
import { CallRecorder, crashingRuntime, isCrash, type CrashPlan } from '../support/crashPoints.ts';
import { uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import {
  describeViolations,
  Invariant,
  podInvariantViolations,
  type ExpectedPhase,
  type Violation,
} from '../support/podInvariants.ts';
import { resolvedContainer, resolvedPod } from '../support/resolvedPod.ts';
import { keepNodeReady } from '../support/virtualNode.ts';

type Invocation = 'resync' | 'poke';

interface Scenario {
  name: string;
  restartPolicy: 'Always' | 'Never';
  /** Brings a new pod on the worker's node to where the scenario starts. */
  prepare: (w: Worker, pod: string) => Promise<void>;
  expect: ExpectedPhase;
  /**
   * What the relay pokes with: a watch event for a change in the API server, a recheck (which
   * podEvents asks for while a pod settles) for a change only the provider saw.
   */
  poke: 'ADDED' | 'MODIFIED' | 'RECHECK';
  /** The pod asks for what the provider cannot run. */
  refused?: boolean;
}

/** One virtual node, with the clock its functions run by: real time plus what the test moved it on by. */
interface Worker {
  node: string;
  offsetMs: number;
  now: () => number;
  /** A fresh composition root, as each invocation of the function app gets. */
  runtime: () => Runtime;
  /** The test's own view of the node's provider and records (not under test). */
  observer: Runtime;
}

/** Invocations after the crash within which the pod must have settled. */
const settlePasses = 4;
/** Virtual nodes per provider, each taking one crash point at a time. */
const workers = 3;

for (const providerName of ['mock', 'aci'] as const satisfies readonly ProviderName[]) {
  describe(`crash points on ${providerName} virtual nodes`, () => {
    const core = testAdmin().makeApiClient(CoreV1Api);
    const nodes = Array.from({ length: workers }, (_, i) => uniqueName(`vk-crash-${providerName}${i}`));
    const namespace = uniqueName(`crash-${providerName}`);
    let backend: (ProviderUnderTest & { fake?: FakeAci }) | undefined;
    let lease: TimerLoop | undefined;
    let workerOn: Worker[] = [];
    const logger = createLogger({}, { sink: () => undefined });
    let serial = 0;

    before(async () => {
      await createPodNamespace(core, namespace);
      backend = providerName === 'aci' ? await aciUnderTest() : undefined;
      const settings = functionSettings({
        kubeconfig: await functionKubeconfig(testAdmin(), nodes),
        tablePrefix: `crash${providerName}${Math.random().toString(36).slice(2, 8)}`,
        nodes: nodes.map((name) => ({ name, provider: providerName })),
        extra: { [Setting.restartBackoffMs]: '0', [Setting.mockStartDelayMs]: '300', ...backend?.settings },
      });
      workerOn = nodes.map((node) => {
        const w: Worker = {
          node,
          offsetMs: 0,
          now: () => Date.now() + w.offsetMs,
          runtime: () => createRuntime({ env: settings, now: w.now, providers: backend?.overrides }),
          observer: undefined as unknown as Runtime,
        };
        w.observer = w.runtime();
        return w;
      });
      lease = await keepNodeReady(freshRuntimes(settings, undefined, backend?.overrides));
    });

    after(async () => {
      await lease?.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);
      await backend?.stop();
    });

    const provider = (w: Worker) => w.observer.provider(providerName, logger);
    const readPod = async (name: string): Promise<V1Pod | undefined> =>
      (await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` })).items[0];

    /** One invocation through the composition root of `runtime`; a crash ends it, anything else fails the test. */
    async function invoke(
      kind: Invocation,
      runtime: Runtime,
      w: Worker,
      name: string,
      uid: string,
      type: Poke['type'] = 'MODIFIED',
    ) {
      const deps = await podDeps(
        runtime,
        runtime.config.nodes.find((n) => n.name === w.node)!,
        logger,
      );
      try {
        if (kind === 'resync') {
          await resyncNode(deps, runtime.config.resync);
          return;
        }
        // What the relay sends for the pod as it is now.
        const pod = await readPod(name);
        const poke: Poke = pod
          ? { type, namespace, name, uid, resourceVersion: pod.metadata!.resourceVersion! }
          : { type: 'DELETED', namespace, name, uid, resourceVersion: '0' };
        await handlePokes(deps, [poke], 4);
      } catch (err) {
        if (!isCrash(err)) throw err;
      }
    }

    const resync = (w: Worker, name: string) => invoke('resync', w.runtime(), w, name, '');

    /** Ends the pod's container as its process exiting with code 1 would. */
    async function endContainer(w: Worker, name: string): Promise<void> {
      const view = (await (await provider(w)).listPods(w.node)).find((v) => v.name === name);
      assert.ok(view, `${name} has an instance`);
      if (backend?.fake) {
        backend.fake.terminateContainer(view.ref.id, 'c', 1);
        return;
      }
      const { node: partitionKey, rowKey } = parseInstanceId(view.ref.id);
      const table = await w.observer.tables.table('mockInstances');
      await table.updateEntity({ partitionKey, rowKey, exitCode: 1, exitAfterMs: 0 }, 'Merge');
    }

    async function running(w: Worker, name: string): Promise<void> {
      await resync(w, name);
      w.offsetMs += 1000;
      await resync(w, name);
      assert.equal((await readPod(name))?.status?.phase, 'Running', `${name} Running before the crash`);
    }

    const scenarios: Scenario[] = [
      {
        name: 'create',
        restartPolicy: 'Always',
        prepare: () => Promise.resolve(),
        expect: 'Running',
        poke: 'ADDED',
      },
      {
        name: 'status',
        restartPolicy: 'Always',
        prepare: async (w, name) => {
          await resync(w, name);
          w.offsetMs += 1000;
        },
        expect: 'Running',
        poke: 'RECHECK',
      },
      {
        name: 'restart',
        restartPolicy: 'Always',
        prepare: async (w, name) => {
          await running(w, name);
          await endContainer(w, name);
        },
        expect: 'Running',
        poke: 'RECHECK',
      },
      {
        name: 'delete',
        restartPolicy: 'Always',
        prepare: async (w, name) => {
          await running(w, name);
          await core.deleteNamespacedPod({ name, namespace });
        },
        expect: 'gone',
        poke: 'MODIFIED',
      },
      {
        name: 'refused',
        restartPolicy: 'Never',
        prepare: () => Promise.resolve(),
        expect: 'Failed',
        poke: 'ADDED',
        refused: true,
      },
    ];

    function podBody(node: string, name: string, s: Scenario): V1Pod {
      const refusal =
        s.refused && providerName === 'mock'
          ? { annotations: { [MockAnnotation.createError]: 'the mock refuses this pod' } }
          : {};
      // ACI cannot set a container's working directory: it refuses the pod.
      const aciRefusal = s.refused && providerName === 'aci' ? { workingDir: '/work' } : {};
      return {
        metadata: { name, ...refusal },
        spec: {
          nodeName: node,
          restartPolicy: s.restartPolicy,
          containers: [{ name: 'c', image: 'busybox', ...aciRefusal }],
        },
      };
    }

    /** Removes the pod and everything kept of it, so that the node's next point starts clean. */
    async function remove(w: Worker, name: string, uid: string): Promise<void> {
      await core
        .deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0 } })
        .catch(() => undefined);
      const p = await provider(w);
      for (const view of await p.listPods(w.node)) if (view.ref.podUid === uid) await p.deletePod(view.ref);
      const records = new PodRecords(await w.observer.tables.table('pods'));
      const record = await records.get(w.node, uid);
      if (record) await records.delete({ ...record, etag: undefined });
    }

    async function violations(w: Worker, name: string, expect: ExpectedPhase): Promise<Violation[]> {
      return podInvariantViolations({
        kube: w.observer.kubeFor(w.node),
        provider: await provider(w),
        records: new PodRecords(await w.observer.tables.table('pods')),
        node: w.node,
        expect: new Map([[`${namespace}/${name}`, expect]]),
      });
    }

    /**
     * One crash point: a new pod brought to the scenario's start, the invocation crashed as
     * planned (or not at all), then the settling invocations, then the invariants.
     */
    async function crashPoint(w: Worker, s: Scenario, kind: Invocation, plan?: CrashPlan) {
      const name = `${s.name}-${kind}-${++serial}`;
      const created = await core.createNamespacedPod({ namespace, body: podBody(w.node, name, s) });
      const uid = created.metadata!.uid!;
      await s.prepare(w, name);
      const recorder = new CallRecorder(plan);
      await invoke(kind, crashingRuntime(w.runtime(), recorder), w, name, uid, s.poke);
      let found: Violation[] = [];
      /** A record naming an instance that does not exist must not outlive one resync. */
      let lingering: Violation[] = [];
      for (let pass = 1; pass <= settlePasses; pass++) {
        // Past any creation claim the crash left: the next invocation may take it over.
        w.offsetMs += creationClaimTtlMs + 1000;
        const next = pass === 1 ? kind : 'resync';
        await invoke(next, w.runtime(), w, name, uid, s.poke);
        found = await violations(w, name, s.expect);
        if (next === 'resync' && lingering.length === 0 && pass <= 2) {
          lingering = found
            .filter((v) => v.invariant === Invariant.recordMatchesProvider)
            .map((v) => ({ ...v, detail: `${v.detail}, after a resync` }));
        }
        if (found.length === 0) break;
      }
      await remove(w, name, uid);
      return { calls: recorder.calls, crashed: recorder.crashed, violations: [...lingering, ...found] };
    }

    it('reports what breaks the invariants: a pod without its instance, an instance without its pod, a record naming a missing instance, a deleted pod still there', async () => {
      const w = workerOn[0]!;
      const [bare, kept] = await Promise.all(
        ['bare', 'kept'].map(async (name) => {
          const body = podBody(w.node, name, scenarios[0]!);
          return (await core.createNamespacedPod({ namespace, body })).metadata!.uid!;
        }),
      );
      const p = await provider(w);
      const orphan = await p.createPod(
        resolvedPod({
          namespace,
          name: 'orphan',
          node: w.node,
          containers: [resolvedContainer({ name: 'c' })],
        }),
      );
      const records = new PodRecords(await w.observer.tables.table('pods'));
      const missing = providerName === 'mock' ? `${w.node}:${bare}-0` : `${namespace}-bare-00000000`;
      await records.save({
        node: w.node,
        uid: bare!,
        namespace,
        name: 'bare',
        providerId: missing,
        attempt: 0,
      });
      const found = await podInvariantViolations({
        kube: w.observer.kubeFor(w.node),
        provider: p,
        records,
        node: w.node,
        expect: new Map([
          [`${namespace}/bare`, 'Running'],
          [`${namespace}/kept`, 'gone'],
        ]),
      });
      await remove(w, 'bare', bare!);
      await remove(w, 'kept', kept!);
      await p.deletePod(orphan);
      assert.deepEqual(
        found.map((v) => `${v.pod} ${v.invariant}`).sort(),
        [
          `${namespace}/bare ${Invariant.expectedPhase}`,
          `${namespace}/bare ${Invariant.instanceForRunningPod}`,
          `${namespace}/bare ${Invariant.recordMatchesProvider}`,
          `${namespace}/kept ${Invariant.deletedPodGone}`,
          `${namespace}/orphan ${Invariant.noOrphanInstance}`,
        ].sort(),
        describeViolations(found),
      );
      assert.deepEqual(await violations(w, 'bare', 'gone'), [], 'the node is clean again');
    });

    it('keeps every invariant after a crash at each external call of every scenario, both ways in', async () => {
      let points = 0;
      const failures: string[] = [];
      let violationCount = 0;
      const note = (point: string, found: Violation[]) => {
        violationCount += found.length;
        if (found.length > 0) failures.push(`${point}:\n${describeViolations(found)}`);
      };
      const breakdown: string[] = [];
      for (const s of scenarios) {
        for (const kind of ['resync', 'poke'] as const) {
          // Uncrashed, it must settle too; it counts the calls to crash at.
          const baseline = await crashPoint(workerOn[0]!, s, kind);
          const before = points;
          note(`${s.name} by ${kind}, uncrashed`, baseline.violations);
          const plans = baseline.calls.flatMap((_, i) =>
            (['before', 'after'] as const).map((mode) => ({ at: i + 1, mode })),
          );
          await Promise.all(
            workerOn.map(async (w) => {
              for (let plan = plans.shift(); plan; plan = plans.shift()) {
                const point = await crashPoint(w, s, kind, plan);
                // A call the invocation did not make this time (a count that varies) crashed nothing.
                if (point.crashed === undefined) continue;
                points++;
                note(`${s.name} by ${kind}, crashed ${point.crashed}`, point.violations);
              }
            }),
          );
          breakdown.push(`${s.name} by ${kind} ${points - before} (${baseline.calls.length} calls)`);
        }
      }
      process.stdout.write(`${providerName}: ${points} crash points, ${violationCount} violations\n`);
      process.stdout.write(`${providerName} crash points: ${breakdown.join(', ')}\n`);
      assert.ok(points > 0, 'crash points were exercised');
      assert.equal(violationCount, 0, failures.join('\n'));
    });
  });
}
