import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogEvents, logStreamName } from '../../../core/providers/ecs/logs.ts';
import { ecsContainerName, podContainerName, taskIdFromArn } from '../../../core/providers/ecs/naming.ts';
import { familyOf } from '../../../core/providers/ecs/task-definition-registry.ts';

const events = [
  { timestamp: Date.UTC(2025, 0, 1, 0, 0, 1), message: 'hello' },
  { timestamp: Date.UTC(2025, 0, 1, 0, 0, 2), message: 'wörld\n' },
];

void describe('container logs from CloudWatch', () => {
  void it('names the awslogs stream <namespace>/<container>/<task id>', () => {
    const arn = 'arn:aws:ecs:eu-west-1:1:task/pods/0123456789abcdef';
    assert.equal(
      logStreamName('shop', ecsContainerName('migrate', 'init'), taskIdFromArn(arn)),
      'shop/init_migrate/0123456789abcdef',
    );
  });

  void it('writes one line per event, with RFC 3339 timestamps when asked', () => {
    assert.equal(formatLogEvents(events, {}), 'hello\nwörld\n');
    assert.equal(
      formatLogEvents(events, { timestamps: true }),
      '2025-01-01T00:00:01.000Z hello\n2025-01-01T00:00:02.000Z wörld\n',
    );
  });

  void it('truncates to limitBytes without splitting a character', () => {
    assert.equal(formatLogEvents(events, { limitBytes: 7 }), 'hello\nw');
    // "w" is byte 6, "ö" bytes 7-8: a limit of 8 must not keep half of it.
    assert.equal(formatLogEvents(events, { limitBytes: 8 }), 'hello\nw');
    assert.equal(formatLogEvents(events, { limitBytes: 9 }), 'hello\nwö');
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
