import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import { clientTokenFor, startedByFor } from '../../../core/providers/ecs/naming.ts';
import { runTaskInputFor, type RunTaskSettings } from '../../../core/providers/ecs/run-task.ts';
import { resolvedPod } from './pods.ts';

const settings: RunTaskSettings = {
  cluster: 'pods',
  clusterName: 'prod',
  subnets: ['subnet-1', 'subnet-2'],
  securityGroups: ['sg-1'],
  assignPublicIp: true,
};
const arn = 'arn:aws:ecs:eu-west-1:1:task-definition/funclet-abc:1';

void describe('the RunTask request for a pod', () => {
  void it('runs one Fargate task in the configured network, tagged with the pod and started by its node', () => {
    const pod = resolvedPod({ namespace: 'shop', name: 'web-0', uid: 'u-1', node: 'vn-1', attempt: 2 });
    const input = runTaskInputFor(pod, arn, settings);
    assert.equal(input.cluster, 'pods');
    assert.equal(input.taskDefinition, arn);
    assert.equal(input.count, 1);
    assert.equal(input.launchType, 'FARGATE');
    assert.equal(input.capacityProviderStrategy, undefined);
    assert.deepEqual(input.networkConfiguration, {
      awsvpcConfiguration: {
        subnets: ['subnet-1', 'subnet-2'],
        securityGroups: ['sg-1'],
        assignPublicIp: 'ENABLED',
      },
    });
    assert.equal(input.startedBy, startedByFor('prod', 'vn-1'));
    assert.equal(input.clientToken, 'u-1-2');
    assert.equal(input.enableECSManagedTags, true);
    assert.deepEqual(input.tags, [
      { key: 'funclet-pod-uid', value: 'u-1' },
      { key: 'funclet-namespace', value: 'shop' },
      { key: 'funclet-pod', value: 'web-0' },
      { key: 'funclet-node', value: 'vn-1' },
      { key: 'funclet-cluster', value: 'prod' },
      { key: 'funclet-attempt', value: '2' },
    ]);
    const privately = runTaskInputFor(pod, arn, { ...settings, assignPublicIp: false });
    assert.equal(privately.networkConfiguration?.awsvpcConfiguration?.assignPublicIp, 'DISABLED');
  });

  void it('uses the FARGATE_SPOT capacity provider when the pod asks for it', () => {
    const input = runTaskInputFor(
      resolvedPod({ annotations: { 'funclet.io/ecs-capacity-provider': 'FARGATE_SPOT' } }),
      arn,
      settings,
    );
    assert.equal(
      input.launchType,
      undefined,
      'ECS refuses launchType together with a capacity provider strategy',
    );
    assert.deepEqual(input.capacityProviderStrategy, [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }]);
  });

  void it('refuses any other capacity provider with a sentence', () => {
    assert.throws(
      () =>
        runTaskInputFor(
          resolvedPod({ annotations: { 'funclet.io/ecs-capacity-provider': 'EC2' } }),
          arn,
          settings,
        ),
      (err: unknown) =>
        err instanceof InvalidInputError &&
        err.message ===
          'annotation funclet.io/ecs-capacity-provider is "EC2"; it must be FARGATE or FARGATE_SPOT',
    );
  });

  void it('derives startedBy from cluster and node within ECS’s 36 characters, the same every time', () => {
    const longNode = 'n'.repeat(253);
    assert.equal(startedByFor('prod', longNode).length, 36);
    assert.match(startedByFor('prod', longNode), /^funclet-[0-9a-f]{28}$/);
    assert.equal(startedByFor('prod', 'vn-1'), startedByFor('prod', 'vn-1'));
    assert.notEqual(startedByFor('prod', 'vn-1'), startedByFor('prod', 'vn-2'));
    assert.notEqual(startedByFor('prod', 'vn-1'), startedByFor('staging', 'vn-1'));
  });

  void it('keys the client token on pod UID and attempt', () => {
    const uid = '6f1c2b9e-1d2a-4c1e-9a53-1b2f4e6d8a00';
    assert.equal(clientTokenFor(uid, 0), `${uid}-0`);
    assert.notEqual(clientTokenFor(uid, 1), clientTokenFor(uid, 0));
    assert.ok(clientTokenFor(uid, 2 ** 31).length <= 64);
  });
});
