/**
 * Registering task definitions once per distinct spec and deregistering them when unused.
 *
 * The family name is a hash of the content (task-definition.ts), so "is there an ACTIVE revision
 * of this family" is "is this exact definition registered". Two instances racing on a new spec may
 * both register: ECS then holds two identical revisions, which is harmless.
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import type { Logger } from '../../log.ts';
import { awsErrorName } from './aws-errors.ts';
import { familyPrefix } from './naming.ts';
import type { AwsCall } from './retry.ts';
import type { TaskDefinitionInput } from './task-definition.ts';

/** The ARN of an ACTIVE revision holding this definition, registering one if there is none. */
export async function ensureTaskDefinition(
  ecs: ECSClient,
  call: AwsCall,
  input: TaskDefinitionInput,
  forPod: string,
): Promise<string> {
  const existing = await taskDefinitionStatus(ecs, call, input.family, forPod);
  if (existing?.status === 'ACTIVE') return existing.arn;
  const out = await call(`registering ECS task definition ${input.family} for pod ${forPod}`, () =>
    ecs.send(new RegisterTaskDefinitionCommand(input)),
  );
  const arn = out.taskDefinition?.taskDefinitionArn;
  if (arn === undefined)
    throw new Error(`registering ECS task definition ${input.family}: ECS returned no ARN`);
  return arn;
}

/**
 * The status of a revision (by ARN) or of a family's latest ACTIVE revision, or undefined when
 * ECS has none: it answers ClientException for a family or revision it does not know.
 */
export async function taskDefinitionStatus(
  ecs: ECSClient,
  call: AwsCall,
  taskDefinition: string,
  forPod: string,
): Promise<{ arn: string; status: string } | undefined> {
  const out = await call(`looking up ECS task definition ${taskDefinition} for pod ${forPod}`, async () => {
    try {
      return await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
    } catch (err) {
      if (awsErrorName(err) === 'ClientException') return undefined;
      throw err;
    }
  });
  const def = out?.taskDefinition;
  if (def?.taskDefinitionArn === undefined) return undefined;
  return { arn: def.taskDefinitionArn, status: def.status ?? 'ACTIVE' };
}

/**
 * Deregisters a Funclet revision once no task of its family is meant to run in the cluster any
 * more. Conservative on purpose: any RUNNING task of the family (any revision) keeps it. A task
 * already running on a revision deregistered under it keeps running; a createPod that raced this
 * and finds the revision INACTIVE registers a new one (provider.ts). Housekeeping only: a failure
 * is logged, never thrown, so that it cannot hold up a pod's deletion. Returns whether it deregistered.
 */
export async function releaseTaskDefinition(
  ecs: ECSClient,
  call: AwsCall,
  cluster: string,
  taskDefinitionArn: string,
  logger: Logger,
): Promise<boolean> {
  const family = familyOf(taskDefinitionArn);
  if (family === undefined || !family.startsWith(familyPrefix)) return false;
  try {
    const running = await call(`listing running ECS tasks of family ${family}`, () =>
      ecs.send(new ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING', maxResults: 1 })),
    );
    if ((running.taskArns ?? []).length > 0) return false;
    await call(`deregistering ECS task definition ${taskDefinitionArn}`, () =>
      ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: taskDefinitionArn })),
    );
    logger.info('deregistered unused ECS task definition', { taskDefinition: taskDefinitionArn });
    return true;
  } catch (err) {
    logger.warn('could not release ECS task definition', { taskDefinition: taskDefinitionArn, error: err });
    return false;
  }
}

/** `arn:aws:ecs:region:account:task-definition/FAMILY:REVISION` -> FAMILY. */
export function familyOf(taskDefinitionArn: string): string | undefined {
  const match = /:task-definition\/([^:/]+):\d+$/.exec(taskDefinitionArn);
  return match?.[1];
}
