import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import { ecsExecRefusal } from '../../../core/providers/ecs/exec.ts';

describe('kubectl exec on ECS on Fargate', () => {
  it('is refused with why, and the AWS CLI command that reaches the same container', () => {
    const taskArn = 'arn:aws:ecs:eu-west-1:123456789012:task/funclet/0123456789abcdef';
    const refusal = ecsExecRefusal(
      'eu-west-1',
      'funclet',
      { provider: 'ecs', id: taskArn, podUid: 'u' },
      'app',
      ['sh', '-c', "echo 'hi'"],
    );
    assert.ok(refusal instanceof InvalidInputError, 'the caller gets a 400 with the message, not a failure');
    assert.match(
      refusal.message,
      /SSM Session Manager session \(ExecuteCommand\), whose protocol Funclet does not bridge/,
    );
    assert.ok(
      refusal.message.includes(
        `aws ecs execute-command --region eu-west-1 --cluster funclet --task ${taskArn} --container app --interactive --command 'sh -c echo '\\''hi'\\'''`,
      ),
      refusal.message,
    );
  });
});
