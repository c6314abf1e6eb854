/**
 * Termination and sidecars on an ECS virtual node, through the real path (podResync, the real
 * API server, Azurite) and the real ECS SDK against moto, as far as moto goes: it runs no
 * containers, so what is checked is what Funclet asks of ECS (the registered task definition,
 * StopTask) and what the pod shows for it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  type ContainerDefinition,
  type Task,
} from '@aws-sdk/client-ecs';
import type { V1Pod } from '@kubernetes/client-node';
import { Setting } from '../../core/config.ts';
import { busybox, startLifecycleNode, type LifecycleNode } from '../support/lifecycleNode.ts';
import { testEnv } from '../support/env.ts';
import { onVirtualNode } from '../support/virtualNode.ts';

describe('termination and sidecars on an ECS virtual node (moto)', () => {
  let n: LifecycleNode;
  let ecs: ECSClient;
  let cluster: string;

  before(async () => {
    n = await startLifecycleNode('ecs', 'ecslife');
    ecs = new ECSClient({
      region: 'us-east-1',
      endpoint: testEnv().moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    cluster = n.settings[Setting.ecsCluster]!;
  });
  after(async () => {
    await n.stop();
  });

  const taskOf = async (pod: V1Pod): Promise<Task> => {
    const [view] = await n.instances(pod);
    assert.ok(view, 'the pod has a task');
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [view.ref.id] }));
    return out.tasks![0]!;
  };
  const definitionsOf = async (task: Task): Promise<ContainerDefinition[]> =>
    (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn })))
      .taskDefinition?.containerDefinitions ?? [];

  it('registers a sidecar as a non-essential container the app containers start after (START), an init container as one they wait for (SUCCESS)', async () => {
    await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: {
        metadata: { name: 'proxied' },
        spec: {
          ...onVirtualNode(n.node),
          initContainers: [busybox('setup'), { ...busybox('proxy'), restartPolicy: 'Always' }],
          containers: [busybox('app')],
        },
      },
    });
    const pod = (await n.until('proxied', 'its task started', (p) => p?.status?.phase === 'Running'))!;
    const defs = await definitionsOf(await taskOf(pod));
    const byName = new Map(defs.map((d) => [d.name, d]));
    assert.equal(byName.get('sidecar_proxy')?.essential, false);
    assert.equal(byName.get('init_setup')?.essential, false);
    assert.equal(byName.get('app')?.essential, true);
    assert.deepEqual(byName.get('sidecar_proxy')?.dependsOn, [
      { containerName: 'init_setup', condition: 'SUCCESS' },
    ]);
    assert.deepEqual(byName.get('app')?.dependsOn, [
      { containerName: 'init_setup', condition: 'SUCCESS' },
      { containerName: 'sidecar_proxy', condition: 'START' },
    ]);
    assert.ok(
      (pod.status?.initContainerStatuses ?? []).map((c) => c.name).includes('proxy'),
      'the sidecar is reported among the init containers',
    );
  });

  it("sets each container's stopTimeout from terminationGracePeriodSeconds, cut to Fargate's 120 s with a Warning, and stops the task when the pod is deleted", async () => {
    await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: {
        metadata: { name: 'slow' },
        spec: { ...onVirtualNode(n.node), terminationGracePeriodSeconds: 300, containers: [busybox('app')] },
      },
    });
    const pod = (await n.until('slow', 'its task started', (p) => p?.status?.phase === 'Running'))!;
    const task = await taskOf(pod);
    assert.deepEqual(
      (await definitionsOf(task)).map((d) => d.stopTimeout),
      [120],
    );
    const cut = (await n.events(pod)).find((e) => e.reason === 'GracePeriodCut');
    assert.equal(cut?.type, 'Warning');
    assert.match(cut?.message ?? '', /terminationGracePeriodSeconds of 300 s is 120 s on ECS/);

    await n.core.deleteNamespacedPod({ name: 'slow', namespace: n.namespace });
    await n.until('slow', 'gone', (p) => p === undefined);
    const stopped = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [task.taskArn!] })))
      .tasks?.[0];
    assert.equal(stopped?.desiredStatus, 'STOPPED', 'StopTask was called');
    const events = await n.events(pod);
    // Killing names the containers that ran; moto reports a task's containers running or not.
    const ran = pod.status?.containerStatuses?.[0]?.state?.running !== undefined;
    assert.equal(
      events.some((e) => e.reason === 'Killing' && e.message === 'Stopping container app'),
      ran,
    );
    assert.ok(
      events.some((e) => e.reason === 'GracePeriodCut' && /at most 120 s/.test(e.message ?? '')),
      'the delete says the 300 s grace period is more than Fargate gives',
    );
  });

  it('keeps the 30 s default stopTimeout of a pod that sets none', async () => {
    await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: { metadata: { name: 'plain' }, spec: { ...onVirtualNode(n.node), containers: [busybox('app')] } },
    });
    const pod = (await n.until('plain', 'its task started', (p) => p?.status?.phase === 'Running'))!;
    assert.deepEqual(
      (await definitionsOf(await taskOf(pod))).map((d) => d.stopTimeout),
      [30],
    );
    assert.ok(!(await n.events(pod)).some((e) => e.reason === 'GracePeriodCut'));
  });
});
