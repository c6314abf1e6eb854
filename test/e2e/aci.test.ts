/**
 * ACI end to end: the real ACI SDK against the ARM fake, through podResync, with the real
 * control plane's controllers (Job, Deployment, scheduler) on the other side.
 *
 * Container exits are driven with the fake's controls, as ACI would report them: under
 * restartPolicy Never a container that ends stays Terminated; under OnFailure (non-zero exit) and
 * Always, ACI restarts it in place and counts the restart, and Funclet must not recreate the group.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import { AciTag } from '../../core/providers/aci/tags.ts';
import type { Provider } from '../../core/providers/provider.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import { createRuntime, type Runtime } from '../../functions/runtime.ts';
import { startFakeAci, type FakeAci } from '../fakes/aci/server.ts';
import { aciConfig, sdkClient } from '../unit/aci/support.ts';
import { functionSettings, invocation, timer } from '../support/functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from '../support/kube.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';
import { aciUnderTest, type ProviderUnderTest } from './providers.ts';

/** One ACI virtual node with its own fake, namespace and tables, kept Ready while the tests run. */
interface AciNode {
  admin: KubeConfig;
  core: CoreV1Api;
  fake: FakeAci;
  runtimes: () => Runtime;
  provider: Provider;
  node: string;
  namespace: string;
  stop(): Promise<void>;
}

async function startAciNode(prefix: string): Promise<AciNode> {
  const admin = testAdmin();
  const core = admin.makeApiClient(CoreV1Api);
  const node = uniqueName(prefix);
  const namespace = uniqueName(prefix);
  await createPodNamespace(core, namespace);
  const backend: ProviderUnderTest & { fake: FakeAci } = await aciUnderTest();
  const settings = functionSettings({
    kubeconfig: await functionKubeconfig(admin, [node]),
    tablePrefix: `${prefix.replace(/[^a-z0-9]/gi, '')}${Math.random().toString(36).slice(2, 7)}`,
    nodes: [{ name: node, provider: 'aci' }],
    extra: { ...backend.settings, [Setting.clusterName]: `e2e-${prefix}` },
  });
  const runtimes = () => createRuntime({ env: settings, providers: backend.overrides });
  const lease: TimerLoop = await keepNodeReady(runtimes);
  const provider = await runtimes().provider('aci', createLogger({}, { minLevel: 'error' }));
  return {
    admin,
    core,
    fake: backend.fake,
    runtimes,
    provider,
    node,
    namespace,
    async stop() {
      await lease.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
      await backend.stop();
    },
  };
}

const busybox = (command: string) => ({
  name: 'task',
  image: 'busybox:1.36',
  command: ['sh', '-c', command],
  resources: { requests: { cpu: '250m', memory: '256Mi' } },
});

describe('Jobs on an ACI virtual node', () => {
  let aci: AciNode;
  let batch: BatchV1Api;

  const podsOf = async (job: string): Promise<V1Pod[]> =>
    (await aci.core.listNamespacedPod({ namespace: aci.namespace, labelSelector: `job-name=${job}` })).items;
  const readJob = (name: string): Promise<V1Job> =>
    batch.readNamespacedJob({ name, namespace: aci.namespace });
  const hasCondition = (job: V1Job, type: string) =>
    (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
  /** The container groups (by the provider's own listing) of one pod. */
  const groupsOf = async (pod: V1Pod): Promise<string[]> =>
    (await aci.provider.listPods(aci.node))
      .filter((v) => v.ref.podUid === pod.metadata!.uid)
      .map((v) => v.ref.id);

  const createJob = async (
    name: string,
    restartPolicy: 'Never' | 'OnFailure',
    backoffLimit: number,
  ): Promise<void> => {
    await batch.createNamespacedJob({
      namespace: aci.namespace,
      body: {
        metadata: { name },
        spec: {
          backoffLimit,
          template: {
            spec: { ...onVirtualNode(aci.node), restartPolicy, containers: [busybox('run-the-job')] },
          },
        },
      },
    });
  };

  /** Resyncs until the Job's one pod runs in its container group; returns the pod and the group. */
  const runningPodOf = async (job: string): Promise<{ pod: V1Pod; group: string }> => {
    await waitFor(
      `the pod of Job ${job} bound`,
      async () => (await podsOf(job)).some((p) => p.spec?.nodeName === aci.node),
      { timeoutMs: 60_000 },
    );
    await resyncUntil(aci.runtimes, `the pod of Job ${job} Running`, async () =>
      (await podsOf(job)).some((p) => p.status?.phase === 'Running'),
    );
    const pods = await podsOf(job);
    assert.equal(pods.length, 1, `Job ${job} has one pod`);
    const groups = await groupsOf(pods[0]!);
    assert.equal(groups.length, 1, `the pod of Job ${job} has one container group`);
    return { pod: pods[0]!, group: groups[0]! };
  };

  before(async () => {
    aci = await startAciNode('e2e-aci-jobs');
    batch = aci.admin.makeApiClient(BatchV1Api);
  });

  after(async () => {
    await aci.stop();
  });

  it('completes a Job whose container exits 0: the pod Succeeds and the Job controller marks the Job Complete', async () => {
    await createJob('exits-0', 'Never', 0);
    const { group } = await runningPodOf('exits-0');

    aci.fake.terminateContainer(group, 'task', 0);
    await resyncUntil(aci.runtimes, 'the Job Complete', async () => {
      const job = await readJob('exits-0');
      return job.status?.succeeded === 1 && hasCondition(job, 'Complete');
    });

    const [pod] = await podsOf('exits-0');
    assert.equal(pod?.status?.phase, 'Succeeded');
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 0);
    assert.equal(terminated?.reason, 'Completed');
  });

  it('fails the pod of a Job whose container exits 1 under restartPolicy Never, with exit code 1 in its container status', async () => {
    await createJob('exits-1', 'Never', 0);
    const { pod: started, group } = await runningPodOf('exits-1');

    aci.fake.terminateContainer(group, 'task', 1);
    await resyncUntil(aci.runtimes, 'the pod Failed', async () =>
      (await podsOf('exits-1')).some((p) => p.status?.phase === 'Failed'),
    );

    const pod = (await podsOf('exits-1')).find((p) => p.metadata?.uid === started.metadata?.uid);
    assert.equal(pod?.status?.phase, 'Failed');
    const status = pod?.status?.containerStatuses?.[0];
    assert.equal(status?.state?.terminated?.exitCode, 1);
    assert.equal(status?.state?.terminated?.reason, 'Error');
    assert.equal(status?.restartCount, 0, 'nothing restarted it');
    assert.deepEqual(await groupsOf(started), [group], 'Funclet did not recreate the group');
    await waitFor('the Job Failed', async () => hasCondition(await readJob('exits-1'), 'Failed'), {
      timeoutMs: 30_000,
    });
  });

  it('keeps the pod of an OnFailure Job Running while ACI restarts its failing container, counting each restart', async () => {
    await createJob('retries', 'OnFailure', 6);
    const { pod: started, group } = await runningPodOf('retries');

    for (const restarts of [1, 2]) {
      aci.fake.terminateContainer(group, 'task', 1);
      await resyncUntil(
        aci.runtimes,
        `restartCount ${restarts}`,
        async () => (await podsOf('retries'))[0]?.status?.containerStatuses?.[0]?.restartCount === restarts,
      );
    }

    const pods = await podsOf('retries');
    assert.equal(pods.length, 1, 'restarted in place, not replaced by the Job controller');
    assert.equal(pods[0]?.metadata?.uid, started.metadata?.uid);
    assert.equal(pods[0]?.status?.phase, 'Running');
    assert.ok(pods[0]?.status?.containerStatuses?.[0]?.state?.running, 'the container runs again');
    assert.equal(
      pods[0]?.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode,
      1,
      'lastState shows the failed run',
    );
    assert.deepEqual(await groupsOf(started), [group], 'ACI restarted the container; the group is the same');
    const job = await readJob('retries');
    assert.ok(!hasCondition(job, 'Failed'), 'the Job has not failed');
    assert.equal(job.status?.active, 1);
  });
});

describe('an ACI virtual node whose ARM calls are half throttled', () => {
  let aci: AciNode;
  /** Every structured line the podResync invocations logged. */
  const lines: Record<string, unknown>[] = [];
  const labels = { app: 'throttled' };

  const podsIn = async () =>
    (await aci.core.listNamespacedPod({ namespace: aci.namespace, labelSelector: 'app=throttled' })).items;
  const runningAndReady = (p: V1Pod) =>
    p.status?.phase === 'Running' &&
    (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

  before(async () => {
    aci = await startAciNode('e2e-aci-429');
  });

  after(async () => {
    aci.fake.clearErrors();
    await aci.stop();
  });

  it('runs every replica of a 5-replica Deployment within bounded resync passes, one container group each', async (t) => {
    await aci.admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: aci.namespace,
      body: {
        metadata: { name: 'throttled' },
        spec: {
          replicas: 5,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { ...onVirtualNode(aci.node), containers: [busybox('sleep 3600')] },
          },
        },
      },
    });
    await waitFor(
      '5 pods bound',
      async () => (await podsIn()).filter((p) => p.spec?.nodeName === aci.node).length === 5,
      { timeoutMs: 60_000 },
    );

    // Half of all ARM calls from here on are refused with 429, Retry-After 0: the provider's
    // own backoff sets the pace. The draw is seeded, so a run meets the same failures in order.
    aci.fake.resetRequests();
    aci.fake.injectErrors({
      status: 429,
      retryAfterSeconds: 0,
      probability: 0.5,
      seed: 429,
      times: Infinity,
    });

    // A pass whose listing runs out of retry budget fails, as a timer invocation would; the
    // next pass picks up from there. Bounded: 10 passes.
    const resync = podResyncHandler(aci.runtimes);
    const maxPasses = 10;
    let failedPasses = 0;
    let passes = 0;
    while (passes < maxPasses) {
      passes++;
      const run = invocation('podResync');
      await resync(timer(), run.context).catch(() => {
        failedPasses++;
      });
      lines.push(...run.lines);
      if ((await podsIn()).filter(runningAndReady).length === 5) break;
    }
    const pods = await podsIn();
    assert.equal(
      pods.filter(runningAndReady).length,
      5,
      `after ${passes} passes (${failedPasses} failed), only ${pods.filter(runningAndReady).length} of 5 pods run`,
    );

    const throttled = aci.fake.countRequests({ status: 429 });
    const served = aci.fake.requests.length - throttled;
    t.diagnostic(
      `${passes} resync passes (${failedPasses} failed); ${throttled} of ${aci.fake.requests.length} ARM calls throttled`,
    );
    assert.ok(
      throttled > 0.3 * aci.fake.requests.length,
      `about half the calls were throttled (${throttled} of ${aci.fake.requests.length})`,
    );
    assert.ok(served > 0);
    const summaries = lines.filter((l) => l.message === 'pod resync').map((l) => JSON.stringify(l.data));
    t.diagnostic(`pass summaries: ${summaries.join(' ')}`);

    const groups = aci.fake.groupNames();
    assert.equal(groups.length, 5, `exactly 5 container groups, not ${groups.join(', ')}`);
    const owners = groups.map((g) => aci.fake.groupSpec(g)?.tags?.[AciTag.podUid]);
    assert.deepEqual(
      new Set(owners),
      new Set(pods.map((p) => p.metadata!.uid)),
      'one group per pod, each tagged with its pod',
    );
  });

  it("logs each retry of a throttled ARM call in the invocation's log, with the status and the wait", () => {
    assert.ok(lines.length > 0, 'the resync passes logged');
    const retries = lines.filter((l) => l.message === 'retrying a transient ARM failure');
    assert.ok(
      retries.length > 0,
      `no retry in ${lines.length} log lines; messages seen: ${[...new Set(lines.map((l) => String(l.message)))].join(' | ')}`,
    );
    for (const retry of retries) {
      const data = retry.data as { statusCode?: number; waitMs?: number; action?: string; attempt?: number };
      assert.equal(data.statusCode, 429);
      assert.ok((data.waitMs ?? 0) > 0, 'each retry waits');
      assert.match(data.action ?? '', /container group/);
      assert.equal(retry.provider, 'aci');
    }
    const waits = retries.map((r) => r.data as { attempt: number; waitMs: number });
    const later = waits.filter((w) => w.attempt > 1);
    assert.ok(later.length > 0, 'some call was retried more than once');
    assert.ok(
      later.every((w) => w.waitMs >= 500),
      'a call throttled again waits longer: the backoff grows',
    );
  });
});

describe("the ARM fake's partial throttling", () => {
  /** The status of each of `n` reads of a group that does not exist: 429 when throttled, else 404. */
  const statuses = async (fake: FakeAci, n: number): Promise<number[]> => {
    const client = sdkClient(fake);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      out.push(
        await client.containerGroups.get(aciConfig().resourceGroup, 'absent').then(
          () => 200,
          (err: unknown) => (err as { statusCode?: number }).statusCode ?? 0,
        ),
      );
    }
    return out;
  };

  it('fails about the given share of matching requests, the same ones for the same seed', async () => {
    const fakes = await Promise.all([startFakeAci(), startFakeAci(), startFakeAci()]);
    try {
      const [a, b, other] = fakes;
      for (const [fake, seed] of [
        [a, 7],
        [b, 7],
        [other, 8],
      ] as const) {
        fake.injectErrors({ status: 429, probability: 0.5, seed, times: Infinity, method: 'GET' });
      }
      const [first, again, otherSeed] = await Promise.all([
        statuses(a, 60),
        statuses(b, 60),
        statuses(other, 60),
      ]);
      assert.deepEqual(new Set(first), new Set([429, 404]));
      const throttled = first.filter((s) => s === 429).length;
      assert.ok(throttled >= 18 && throttled <= 42, `${throttled} of 60 throttled`);
      assert.deepEqual(again, first, 'the same seed throttles the same requests');
      assert.notDeepEqual(otherSeed, first, 'another seed throttles others');
      assert.equal(a.countRequests({ status: 429 }), throttled);
      assert.throws(() => a.injectErrors({ status: 429, probability: 0 }), /probability/);
    } finally {
      await Promise.all(fakes.map((f) => f.close()));
    }
  });
});
