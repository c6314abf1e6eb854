import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { podConditions, type ConditionInput } from '../../../core/pods/conditions.ts';

const t0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const running = (name: string, ready = true): V1ContainerStatus => ({
  name,
  image: 'busybox',
  imageID: '',
  ready,
  restartCount: 0,
  started: true,
  state: { running: { startedAt: new Date(t0) } },
});
const waiting = (name: string): V1ContainerStatus => ({
  name,
  image: 'busybox',
  imageID: '',
  ready: false,
  restartCount: 0,
  started: false,
  state: { waiting: { reason: 'ContainerCreating' } },
});

function podWith(spec: Partial<V1Pod['spec']> = {}, conditions: V1PodCondition[] = []): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: { containers: [{ name: 'web' }, { name: 'side' }], ...spec },
    status: { phase: 'Running', conditions },
  };
}

function conditionsOf(input: Partial<ConditionInput> & { pod: V1Pod }) {
  return podConditions({
    phase: 'Running',
    containerStatuses: [running('web'), running('side')],
    initContainerStatuses: [],
    hasInstance: true,
    nowMs: t0,
    ...input,
  });
}
const byType = (list: V1PodCondition[], type: string) => list.find((c) => c.type === type);
const summary = (c: V1PodCondition | undefined) => [c?.status, c?.reason, c?.message];

describe('pod conditions', () => {
  it('posts the kubelet conditions in its order, with other components’ conditions kept first', () => {
    const gate = { type: 'example.com/lb', status: 'True', lastTransitionTime: new Date(t0 - 9000) };
    const list = conditionsOf({ pod: podWith({ readinessGates: [{ conditionType: gate.type }] }, [gate]) });
    assert.deepEqual(
      list.map((c) => `${c.type}=${c.status}`),
      [
        'example.com/lb=True',
        'PodScheduled=True',
        'PodReadyToStartContainers=True',
        'Initialized=True',
        'Ready=True',
        'ContainersReady=True',
      ],
    );
    assert.equal(list[0], gate, 'a condition Funclet does not own is passed on as it is');
  });

  it('holds Ready False with ReadinessGatesNotReady while a gate condition is missing or not True', () => {
    const gates = [{ conditionType: 'example.com/a' }, { conditionType: 'example.com/b' }];
    const missing = conditionsOf({ pod: podWith({ readinessGates: gates }) });
    assert.deepEqual(summary(byType(missing, 'Ready')), [
      'False',
      'ReadinessGatesNotReady',
      'corresponding condition of pod readiness gate "example.com/a" does not exist., corresponding condition of pod readiness gate "example.com/b" does not exist.',
    ]);
    assert.equal(byType(missing, 'ContainersReady')?.status, 'True', 'gates do not hold ContainersReady');

    const oneFalse = conditionsOf({
      pod: podWith({ readinessGates: gates }, [
        { type: 'example.com/a', status: 'True' },
        { type: 'example.com/b', status: 'False' },
      ]),
    });
    assert.deepEqual(summary(byType(oneFalse, 'Ready')), [
      'False',
      'ReadinessGatesNotReady',
      'the status of pod readiness gate "example.com/b" is not "True", but False',
    ]);

    const both = conditionsOf({
      pod: podWith({ readinessGates: gates }, [
        { type: 'example.com/a', status: 'True' },
        { type: 'example.com/b', status: 'True' },
      ]),
    });
    assert.deepEqual(summary(byType(both, 'Ready')), ['True', undefined, undefined]);
  });

  it('names unready containers in ContainersReady and Ready, before any gate', () => {
    const list = conditionsOf({
      pod: podWith({ readinessGates: [{ conditionType: 'example.com/a' }] }),
      containerStatuses: [running('web', false), waiting('side')],
    });
    for (const type of ['ContainersReady', 'Ready'])
      assert.deepEqual(summary(byType(list, type)), [
        'False',
        'ContainersNotReady',
        'containers with unready status: [web side]',
      ]);
  });

  it('reports a finished pod with PodCompleted or PodFailed, and no instance to start containers in', () => {
    for (const [phase, reason] of [
      ['Succeeded', 'PodCompleted'],
      ['Failed', 'PodFailed'],
    ] as const) {
      const list = conditionsOf({ pod: podWith(), phase });
      assert.deepEqual(summary(byType(list, 'Ready')), ['False', reason, undefined]);
      assert.deepEqual(summary(byType(list, 'ContainersReady')), ['False', reason, undefined]);
      assert.equal(byType(list, 'PodReadyToStartContainers')?.status, 'False');
    }
    assert.deepEqual(summary(byType(conditionsOf({ pod: podWith(), phase: 'Succeeded' }), 'Initialized')), [
      'True',
      'PodCompleted',
      undefined,
    ]);
  });

  it('holds Initialized False naming the init containers not done, and PodReadyToStartContainers until the instance exists', () => {
    const pod = podWith({ initContainers: [{ name: 'migrate' }, { name: 'seed' }] });
    const done: V1ContainerStatus = {
      ...waiting('migrate'),
      state: { terminated: { exitCode: 0, reason: 'Completed' } },
    };
    const list = conditionsOf({
      pod,
      phase: 'Pending',
      hasInstance: false,
      containerStatuses: [waiting('web'), waiting('side')],
      initContainerStatuses: [done, waiting('seed')],
    });
    assert.deepEqual(summary(byType(list, 'Initialized')), [
      'False',
      'ContainersNotInitialized',
      'containers with incomplete status: [seed]',
    ]);
    assert.equal(byType(list, 'PodReadyToStartContainers')?.status, 'False');
  });

  it('keeps a condition’s lastTransitionTime while its status holds, and moves it when the status changes', () => {
    const earlier = new Date(t0 - 60_000);
    const pod = podWith({ readinessGates: [{ conditionType: 'example.com/a' }] }, [
      { type: 'example.com/a', status: 'True' },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: earlier },
      { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', lastTransitionTime: earlier },
    ]);
    const list = conditionsOf({ pod, nowMs: t0 + 5000 });
    assert.equal(byType(list, 'ContainersReady')?.lastTransitionTime, earlier);
    assert.equal(byType(list, 'Ready')?.status, 'True');
    assert.equal(byType(list, 'Ready')?.lastTransitionTime?.getTime(), t0 + 5000);
  });
});
