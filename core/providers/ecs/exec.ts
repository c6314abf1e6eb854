/**
 * `kubectl exec` on ECS on Fargate: ECS runs a command in a task through ExecuteCommand, which
 * opens an SSM Session Manager session; its protocol (session-manager-plugin's framed, acknowledged
 * messages over a WebSocket) is not bridged by Funclet. The refusal names the AWS CLI command
 * that reaches the same container, with this task's coordinates.
 */
import { InvalidInputError } from '../../errors.ts';
import { shellQuote } from '../exec-terminal.ts';
import type { ProviderRef } from '../types.ts';
import { ecsContainerName } from './naming.ts';

export function ecsExecRefusal(
  region: string,
  cluster: string,
  ref: ProviderRef,
  container: string,
  command: readonly string[],
): InvalidInputError {
  const cli = [
    'aws ecs execute-command',
    `--region ${region}`,
    `--cluster ${shellQuote(cluster)}`,
    `--task ${shellQuote(ref.id)}`,
    `--container ${shellQuote(ecsContainerName(container, 'app'))}`,
    '--interactive',
    `--command ${shellQuote(command.join(' '))}`,
  ].join(' ');
  return new InvalidInputError(
    `exec is not available on ECS on Fargate nodes: ECS runs commands in a task through an SSM Session Manager session (ExecuteCommand), whose protocol Funclet does not bridge; use the AWS CLI instead: ${cli} (the task must run with ECS Exec enabled and a task role that allows ssmmessages)`,
  );
}
