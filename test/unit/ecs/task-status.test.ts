/**
 * Task -> pod view on DescribeTasks-shaped objects. moto cannot make a container exit non-zero
 * (every container it models reports exit code 0), so the failure mappings are pinned here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Task } from '@aws-sdk/client-ecs';
import { podViewFromTask } from '../../../core/providers/ecs/task-status.ts';

const arn = 'arn:aws:ecs:eu-west-1:1:task/pods/0123456789abcdef';
const startedAt = new Date(Date.UTC(2025, 0, 1, 10, 0, 0));
const stoppedAt = new Date(Date.UTC(2025, 0, 1, 10, 5, 0));

function task(
  overrides: Partial<Task>,
  containers: Container[] = [{ name: 'app', image: 'busybox', lastStatus: 'RUNNING' }],
): Task {
  return {
    taskArn: arn,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    startedAt,
    containers,
    tags: [
      { key: 'funclet-pod-uid', value: 'u-1' },
      { key: 'funclet-namespace', value: 'shop' },
      { key: 'funclet-pod', value: 'web-0' },
      { key: 'funclet-node', value: 'vn-1' },
    ],
    attachments: [
      {
        type: 'ElasticNetworkInterface',
        status: 'ATTACHED',
        details: [
          { name: 'subnetId', value: 'subnet-1' },
          { name: 'privateIPv4Address', value: '10.0.1.23' },
        ],
      },
    ],
    ...overrides,
  };
}

void describe('a pod view from an ECS task', () => {
  void it('is Pending while the task is provisioning, with its containers waiting', () => {
    for (const lastStatus of ['PROVISIONING', 'PENDING', 'ACTIVATING']) {
      const view = podViewFromTask(
        task({ lastStatus, startedAt: undefined, attachments: [] }, [
          { name: 'app', image: 'busybox', lastStatus: 'PENDING' },
        ]),
      );
      assert.equal(view.phase, 'Pending', lastStatus);
      assert.deepEqual(view.containers[0]?.state, { waiting: { reason: 'ContainerCreating' } });
      assert.equal(view.podIP, undefined);
    }
  });

  void it('is Running while the task runs, with identity from the tags and the IP of the ENI', () => {
    const view = podViewFromTask(
      task({}, [{ name: 'app', image: 'busybox', lastStatus: 'RUNNING', runtimeId: 'abc' }]),
    );
    assert.deepEqual(view.ref, { provider: 'ecs', id: arn, podUid: 'u-1' });
    assert.deepEqual([view.namespace, view.name, view.node], ['shop', 'web-0', 'vn-1']);
    assert.equal(view.phase, 'Running');
    assert.equal(view.podIP, '10.0.1.23');
    assert.equal(view.startedAtMs, startedAt.getTime());
    assert.deepEqual(view.containers, [
      {
        name: 'app',
        image: 'busybox',
        state: { running: { startedAtMs: startedAt.getTime() } },
        restartCount: 0,
        ready: true,
        containerId: 'abc',
      },
    ]);
  });

  void it('is not ready while the container health check says UNHEALTHY', () => {
    const view = podViewFromTask(
      task({}, [{ name: 'app', lastStatus: 'RUNNING', healthStatus: 'UNHEALTHY' }]),
    );
    assert.equal(view.containers[0]?.ready, false);
  });

  void it('is Succeeded when the task stopped and every app container exited 0', () => {
    const view = podViewFromTask(
      task(
        { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedAt },
        [
          { name: 'app', lastStatus: 'STOPPED', exitCode: 0 },
          { name: 'init_setup', lastStatus: 'STOPPED', exitCode: 0 },
        ],
      ),
    );
    assert.equal(view.phase, 'Succeeded');
    assert.equal(view.reason, undefined);
    assert.deepEqual(view.containers[0]?.state, {
      terminated: {
        exitCode: 0,
        reason: 'Completed',
        message: undefined,
        startedAtMs: startedAt.getTime(),
        finishedAtMs: stoppedAt.getTime(),
      },
    });
    assert.deepEqual(
      view.initContainers.map((c) => c.name),
      ['setup'],
    );
  });

  void it('is Failed, not Succeeded, when any app container exited non-zero, with the stop code and reason', () => {
    const view = podViewFromTask(
      task(
        {
          lastStatus: 'STOPPED',
          desiredStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
          stoppedAt,
        },
        [
          { name: 'app', lastStatus: 'STOPPED', exitCode: 2 },
          { name: 'sidecar', lastStatus: 'STOPPED', exitCode: 0 },
        ],
      ),
    );
    assert.equal(view.phase, 'Failed');
    assert.equal(view.reason, 'EssentialContainerExited');
    assert.equal(view.message, 'Essential container in task exited');
    const app = view.containers.find((c) => c.name === 'app');
    assert.ok(app && 'terminated' in app.state);
    assert.equal(app.state.terminated.exitCode, 2);
    assert.equal(app.state.terminated.reason, 'Error');
  });

  void it('is Failed when the task never started: its containers have no exit code', () => {
    const view = podViewFromTask(
      task(
        {
          lastStatus: 'STOPPED',
          stopCode: 'TaskFailedToStart',
          stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
          startedAt: undefined,
          stoppedAt,
        },
        [{ name: 'app', lastStatus: 'STOPPED', reason: 'CannotPullContainerError: not found' }],
      ),
    );
    assert.equal(view.phase, 'Failed');
    assert.equal(view.reason, 'TaskFailedToStart');
    assert.match(view.message ?? '', /^CannotPullContainerError/);
    assert.deepEqual(view.containers[0]?.state, {
      terminated: {
        exitCode: 128,
        reason: 'TaskFailedToStart',
        message: 'CannotPullContainerError: not found',
        startedAtMs: undefined,
        finishedAtMs: stoppedAt.getTime(),
      },
    });
  });

  void it('is Failed when Fargate reclaimed a Spot task, even if the program exited 0 on SIGTERM', () => {
    const view = podViewFromTask(
      task(
        {
          lastStatus: 'STOPPED',
          stopCode: 'SpotInterruption',
          stoppedReason: 'Your Spot Task was interrupted.',
        },
        [{ name: 'app', lastStatus: 'STOPPED', exitCode: 0 }],
      ),
    );
    assert.equal(view.phase, 'Failed');
    assert.equal(view.reason, 'SpotInterruption');
    assert.equal(view.message, 'Your Spot Task was interrupted.');
  });

  void it('reports an out-of-memory kill as OOMKilled', () => {
    const view = podViewFromTask(
      task({ lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited' }, [
        {
          name: 'app',
          lastStatus: 'STOPPED',
          exitCode: 137,
          reason: 'OutOfMemoryError: Container killed due to memory usage',
        },
      ]),
    );
    assert.equal(view.phase, 'Failed');
    const state = view.containers[0]?.state;
    assert.ok(state && 'terminated' in state);
    assert.equal(state.terminated.reason, 'OOMKilled');
    assert.equal(state.terminated.exitCode, 137);
  });

  void it('splits init containers out by their ECS names and shows app containers waiting for them', () => {
    const view = podViewFromTask(
      task({}, [
        { name: 'app', lastStatus: 'PENDING' },
        { name: 'init_migrate', lastStatus: 'RUNNING' },
      ]),
    );
    assert.deepEqual(
      view.containers.map((c) => [c.name, c.state]),
      [['app', { waiting: { reason: 'PodInitializing' } }]],
    );
    assert.deepEqual(
      view.initContainers.map((c) => c.name),
      ['migrate'],
    );
    assert.ok('running' in (view.initContainers[0]?.state ?? {}));
  });

  void it('keeps reporting Running while the task is stopping', () => {
    for (const lastStatus of ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING']) {
      assert.equal(
        podViewFromTask(task({ lastStatus, desiredStatus: 'STOPPED' })).phase,
        'Running',
        lastStatus,
      );
    }
  });
});
