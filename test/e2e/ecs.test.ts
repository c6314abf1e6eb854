/**
 * ECS end to end against moto: two function instances reconciling the same new pod at the same
 * moment (a poke and a resync, or two resyncs) must start one task, not two.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { memoryLogger } from '../../core/log.ts';
import { reconcilePod } from '../../core/pods/reconcile.ts';
import { tagMap, TagKey } from '../../core/providers/ecs/naming.ts';
import { PodRecords } from '../../core/state/podRecords.ts';
import { createRuntime, podDeps, type Runtime } from '../../functions/runtime.ts';
import { functionSettings } from '../support/functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from '../support/kube.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode } from '../support/virtualNode.ts';
import { providerUnderTest, type ProviderUnderTest } from './providers.ts';

describe('pods on an ECS virtual node, reconciled concurrently', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let backend: ProviderUnderTest;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let ecs: ECSClient;
  const node = uniqueName('e2e-ecs-race');
  const namespace = uniqueName('e2e-ecs-race');

  /** Every task in the test's ECS cluster, running or stopped, with its tags. */
  const allTasks = async (): Promise<Task[]> => {
    const cluster = backend.settings[Setting.ecsCluster]!;
    const arns: string[] = [];
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      let nextToken: string | undefined;
      do {
        const page = await ecs.send(new ListTasksCommand({ cluster, desiredStatus, nextToken }));
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken || undefined;
      } while (nextToken !== undefined);
    }
    if (arns.length === 0) return [];
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns, include: ['TAGS'] }));
    return out.tasks ?? [];
  };
  const tasksOf = async (uid: string) =>
    (await allTasks()).filter((t) => tagMap(t.tags)[TagKey.podUid] === uid);

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    backend = await providerUnderTest('ecs');
    ecs = new ECSClient({
      region: backend.settings[Setting.ecsRegion]!,
      endpoint: testEnv().moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const settings = functionSettings({
      kubeconfig: await functionKubeconfig(admin, [node]),
      tablePrefix: `e2eecsrace${Math.random().toString(36).slice(2, 7)}`,
      nodes: [{ name: node, provider: 'ecs' }],
      extra: { ...backend.settings, [Setting.clusterName]: 'e2e-ecs-race' },
    });
    runtimes = () => createRuntime({ env: settings, providers: backend.overrides });
    lease = await keepNodeReady(runtimes);
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
    await backend.stop();
  });

  it('starts exactly one task when two instances reconcile the same new pod at once', async (t) => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'raced' },
        spec: {
          ...onVirtualNode(node),
          containers: [
            {
              name: 'app',
              image: 'busybox:1.36',
              command: ['sh', '-c', 'sleep 3600'],
              resources: { requests: { cpu: '250m', memory: '512Mi' } },
            },
          ],
        },
      },
    });
    let pod: V1Pod | undefined;
    await waitFor(
      'the pod bound to the node',
      async () => {
        pod = await core.readNamespacedPod({ name: 'raced', namespace });
        return pod.spec?.nodeName === node;
      },
      { timeoutMs: 60_000 },
    );
    const uid = pod!.metadata!.uid!;

    // Two function instances, each with its own composition root, given the same views: the
    // pod, no record yet, no task yet.
    const instance = async () => {
      const runtime = runtimes();
      const { logger } = memoryLogger({ node });
      return podDeps(runtime, runtime.config.nodes[0]!, logger);
    };
    const [first, second] = await Promise.all([instance(), instance()]);
    const outcomes = await Promise.all([
      reconcilePod(first, { pod: structuredClone(pod!) }),
      reconcilePod(second, { pod: structuredClone(pod!) }),
    ]);

    t.diagnostic(`outcomes: ${JSON.stringify(outcomes)}`);
    assert.equal(
      outcomes.flat().filter((o) => o === 'created').length,
      1,
      `one of the two created the task: ${JSON.stringify(outcomes)}`,
    );
    const tasks = await tasksOf(uid);
    assert.equal(tasks.length, 1, `one ECS task for the pod, not ${tasks.map((t) => t.taskArn).join(', ')}`);
    const record = await new PodRecords(await runtimes().tables.table('pods')).get(node, uid);
    assert.equal(record?.providerId, tasks[0]?.taskArn, 'the record names that task');
    assert.equal(record?.creatingSinceMs, undefined, 'the creation claim was released');
    assert.equal(record?.attempt, 0);
  });
});
