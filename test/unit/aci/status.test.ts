import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, ContainerGroup, ContainerState } from '@azure/arm-containerinstance';
import { podViewFromContainerGroup } from '../../../core/providers/aci/status.ts';
import type { ProviderPodView } from '../../../core/providers/types.ts';

const tags = {
  'funclet-namespace': 'shop',
  'funclet-pod': 'api',
  'funclet-pod-uid': 'uid-1',
  'funclet-node': 'vk-1',
  'funclet-cluster': 'c',
  'funclet-attempt': '0',
};
const t = (s: string): Date => new Date(`2025-01-01T00:00:${s}Z`);
const ms = (s: string): number => t(s).getTime();

function aciContainer(name: string, currentState: ContainerState | undefined, restartCount = 0): Container {
  return {
    name,
    image: `${name}:1`,
    resources: { requests: { cpu: 1, memoryInGB: 1 } },
    instanceView: { restartCount, currentState, events: [] },
  };
}

function view(group: Partial<ContainerGroup>): ProviderPodView {
  const result = podViewFromContainerGroup({
    name: 'shop-api-1234abcd',
    tags,
    osType: 'Linux',
    provisioningState: 'Succeeded',
    restartPolicy: 'Always',
    containers: [],
    ...group,
  });
  assert.ok(result !== undefined);
  return result;
}

const running = (start = '01'): ContainerState => ({ state: 'Running', startTime: t(start) });
const exited = (exitCode: number, detailStatus = ''): ContainerState => ({
  state: 'Terminated',
  exitCode,
  startTime: t('01'),
  finishTime: t('09'),
  detailStatus,
});

describe('container group to pod status', () => {
  it('is Pending while the group is being created', () => {
    const v = view({
      provisioningState: 'Creating',
      containers: [aciContainer('app', { state: 'Waiting', detailStatus: '' })],
    });
    assert.equal(v.phase, 'Pending');
    assert.deepEqual(v.containers[0]!.state, { waiting: { reason: 'ContainerCreating' } });
    assert.equal(v.containers[0]!.ready, false);
  });

  it('is Running with the pod IP once every container runs, identifying the pod from its tags', () => {
    const v = view({
      ipAddress: { type: 'Public', ports: [{ port: 80 }], ip: '20.1.2.3' },
      containers: [aciContainer('app', running('02')), aciContainer('sidecar', running('01'))],
    });
    assert.equal(v.phase, 'Running');
    assert.equal(v.podIP, '20.1.2.3');
    assert.equal(v.startedAtMs, ms('01'));
    assert.deepEqual(v.ref, { provider: 'aci', id: 'shop-api-1234abcd', podUid: 'uid-1' });
    assert.deepEqual([v.namespace, v.name, v.node], ['shop', 'api', 'vk-1']);
    assert.deepEqual(v.containers[0]!.state, { running: { startedAtMs: ms('02') } });
    assert.equal(v.containers[0]!.ready, true);
  });

  it('is Failed with exit code 1 when a container exited 1 under restartPolicy Never', () => {
    const v = view({ restartPolicy: 'Never', containers: [aciContainer('job', exited(1))] });
    assert.equal(v.phase, 'Failed');
    assert.match(v.message ?? '', /"job" exited with code 1/);
    assert.deepEqual(v.containers[0]!.state, {
      terminated: { exitCode: 1, reason: 'Error', startedAtMs: ms('01'), finishedAtMs: ms('09') },
    });
  });

  it('is Succeeded when every container exited 0 and will not be restarted', () => {
    for (const restartPolicy of ['Never', 'OnFailure']) {
      const v = view({
        restartPolicy,
        containers: [aciContainer('a', exited(0)), aciContainer('b', exited(0, 'Completed'))],
      });
      assert.equal(v.phase, 'Succeeded', restartPolicy);
    }
  });

  it('stays Running while a Never pod still has a container running, like Kubernetes', () => {
    const v = view({
      restartPolicy: 'Never',
      containers: [aciContainer('a', exited(2)), aciContainer('b', running())],
    });
    assert.equal(v.phase, 'Running');
  });

  it('counts ACI restarts and keeps a restarted pod Running', () => {
    const v = view({ containers: [aciContainer('app', running('05'), 3)] });
    assert.equal(v.phase, 'Running');
    assert.equal(v.containers[0]!.restartCount, 3);
  });

  it('takes a one-word detailStatus as the reason, and keeps longer ones as the message', () => {
    const oom = view({ restartPolicy: 'Never', containers: [aciContainer('app', exited(137, 'OOMKilled'))] });
    assert.equal(
      (oom.containers[0]!.state as { terminated: { reason: string } }).terminated.reason,
      'OOMKilled',
    );
    const backoff = view({
      containers: [
        aciContainer('app', {
          state: 'Waiting',
          detailStatus: 'CrashLoopBackOff: Back-off restarting failed',
        }),
      ],
    });
    assert.deepEqual(backoff.containers[0]!.state, {
      waiting: { reason: 'CrashLoopBackOff', message: 'CrashLoopBackOff: Back-off restarting failed' },
    });
  });

  it('is Failed with ACI’s own words when provisioning failed, and surfaces its events', () => {
    const v = view({
      provisioningState: 'Failed',
      instanceView: {
        state: 'Pending',
        events: [
          {
            name: 'FailedMount',
            type: 'Warning',
            message: 'mount error(2): Permission denied',
            lastTimestamp: t('07'),
          },
        ],
      },
      containers: [aciContainer('app', { state: 'Waiting' })],
    });
    assert.equal(v.phase, 'Failed');
    assert.equal(v.reason, 'ProviderFailed');
    assert.equal(v.message, 'mount error(2): Permission denied');
    assert.deepEqual(v.events, [
      {
        reason: 'FailedMount',
        message: 'mount error(2): Permission denied',
        type: 'Warning',
        atMs: ms('07'),
      },
    ]);
  });

  it('is Failed when an init container failed under Never, and Pending while one runs', () => {
    const failed = view({
      restartPolicy: 'Never',
      initContainers: [{ name: 'migrate', instanceView: { currentState: exited(3) } }],
      containers: [aciContainer('app', { state: 'Waiting' })],
    });
    assert.equal(failed.phase, 'Failed');
    assert.equal(failed.reason, 'InitContainerFailed');
    const runningInit = view({
      initContainers: [{ name: 'migrate', instanceView: { currentState: running() } }],
      containers: [aciContainer('app', { state: 'Waiting' })],
    });
    assert.equal(runningInit.phase, 'Pending');
    assert.equal(runningInit.initContainers[0]!.name, 'migrate');
  });

  it('ignores groups Funclet did not create', () => {
    assert.equal(
      podViewFromContainerGroup({
        name: 'someone-else',
        tags: { owner: 'x' },
        osType: 'Linux',
        containers: [],
      }),
      undefined,
    );
  });
});
