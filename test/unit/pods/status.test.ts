import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { podStatus, podStatusChanged } from '../../../core/pods/status.ts';
import type { ProviderPodView } from '../../../core/providers/types.ts';

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: {
    containers: [
      { name: 'web', image: 'nginx' },
      { name: 'side', image: 'envoy' },
    ],
  },
  status: {
    phase: 'Pending',
    qosClass: 'BestEffort',
    conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date(t0 - 5000) }],
  },
};
const running: ProviderPodView = {
  ref: { provider: 'mock', id: 'i', podUid: 'u' },
  namespace: 'ns',
  name: 'p',
  node: 'vk',
  phase: 'Running',
  podIP: '10.1.2.3',
  startedAtMs: t0,
  initContainers: [],
  containers: [
    { name: 'web', image: 'nginx', ready: true, restartCount: 0, state: { running: { startedAtMs: t0 } } },
    { name: 'side', image: 'envoy', ready: true, restartCount: 1, state: { running: { startedAtMs: t0 } } },
  ],
};

describe('pod status', () => {
  it('reports a running instance as Running and Ready with IPs, start time and container states', () => {
    const status = podStatus(pod, running, {
      nowMs: t0 + 1000,
      record: { node: 'vk', uid: 'u', namespace: 'ns', name: 'p', attempt: 2, startedAtMs: t0 - 60_000 },
    });
    assert.equal(status.phase, 'Running');
    assert.equal(status.podIP, '10.1.2.3');
    assert.equal(status.qosClass, 'BestEffort');
    assert.equal(status.startTime?.getTime(), t0 - 60_000);
    assert.deepEqual(
      status.conditions?.map((c) => `${c.type}=${c.status}`),
      [
        'PodScheduled=True',
        'PodReadyToStartContainers=True',
        'Initialized=True',
        'Ready=True',
        'ContainersReady=True',
      ],
    );
    assert.equal(
      status.conditions?.[0]?.lastTransitionTime?.getTime(),
      t0 - 5000,
      'an unchanged condition keeps its transition time',
    );
    assert.deepEqual(
      status.containerStatuses?.map((c) => [c.name, c.ready, c.started, c.restartCount]),
      [
        ['web', true, true, 2],
        ['side', true, true, 3],
      ],
    );
  });

  it('shows containers waiting in ContainerCreating before the provider reports them', () => {
    const status = podStatus(pod, undefined, { nowMs: t0 });
    assert.equal(status.phase, 'Pending');
    assert.deepEqual(
      status.containerStatuses?.map((c) => c.state?.waiting?.reason),
      ['ContainerCreating', 'ContainerCreating'],
    );
    assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.reason, 'ContainersNotReady');
  });

  it('keeps conditions other components own', () => {
    const withGate: V1Pod = {
      ...pod,
      status: { ...pod.status, conditions: [{ type: 'example.com/gate', status: 'True' }] },
    };
    assert.ok(
      podStatus(withGate, running, { nowMs: t0 }).conditions?.some((c) => c.type === 'example.com/gate'),
    );
  });

  it('sees no change when only heartbeat-like times differ below a second', () => {
    const a = podStatus(pod, running, { nowMs: t0 });
    const b = podStatus({ ...pod, status: a }, running, { nowMs: t0 + 30_000 });
    assert.equal(podStatusChanged(a, b), false);
    const c = podStatus({ ...pod, status: a }, { ...running, podIP: '10.9.9.9' }, { nowMs: t0 });
    assert.equal(podStatusChanged(a, c), true);
  });
});
