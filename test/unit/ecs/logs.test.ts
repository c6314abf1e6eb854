import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import { decodeEcsLogCursor, logStreamName } from '../../../core/providers/ecs/logs.ts';
import { ecsContainerName, podContainerName, taskIdFromArn } from '../../../core/providers/ecs/naming.ts';
import { familyOf } from '../../../core/providers/ecs/task-definition-registry.ts';
import { encodeCursor } from '../../../core/providers/log-lines.ts';

void describe('container logs from CloudWatch', () => {
  void it('names the awslogs stream <namespace>/<container>/<task id>', () => {
    const arn = 'arn:aws:ecs:eu-west-1:1:task/pods/0123456789abcdef';
    assert.equal(
      logStreamName('shop', ecsContainerName('migrate', 'init'), taskIdFromArn(arn)),
      'shop/init_migrate/0123456789abcdef',
    );
  });

  void it('reads back the cursors it hands out, and refuses anything else', () => {
    const position = {
      t: 'f/00000000000000000000000000000000000000000000000000000012',
      k: 3,
      s: 1764600000000,
      n: 'shop',
      c: 'init_migrate',
    };
    assert.deepEqual(decodeEcsLogCursor(encodeCursor(position)), {
      token: position.t,
      skip: 3,
      sinceMs: position.s,
      namespace: 'shop',
      ecsContainer: 'init_migrate',
    });
    assert.deepEqual(decodeEcsLogCursor(encodeCursor({ k: 0, n: 'shop', c: 'app' })), {
      skip: 0,
      namespace: 'shop',
      ecsContainer: 'app',
    });
    for (const bad of [
      { ...position, k: -1 },
      { ...position, t: '' },
      { ...position, n: '../other' },
      { ...position, c: 'app/../x' },
      { line: 3 }, // the mock provider's
      { at: '', n: 0 }, // ACI's
    ]) {
      assert.throws(() => decodeEcsLogCursor(encodeCursor(bad)), InvalidInputError, JSON.stringify(bad));
    }
  });
});

void describe('ECS names', () => {
  void it('maps init containers to init_<name> and back; app containers keep their names', () => {
    assert.deepEqual(podContainerName(ecsContainerName('setup', 'init')), { name: 'setup', kind: 'init' });
    assert.deepEqual(podContainerName(ecsContainerName('init-db', 'app')), { name: 'init-db', kind: 'app' });
  });

  void it('reads the family out of a task definition ARN', () => {
    assert.equal(familyOf('arn:aws:ecs:eu-west-1:1:task-definition/funclet-abc:12'), 'funclet-abc');
    assert.equal(familyOf('not an arn'), undefined);
  });
});
