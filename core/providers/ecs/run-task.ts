/**
 * The RunTask request for one pod instance. Pure, so the launch settings are unit-tested without AWS.
 */
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { InvalidInputError } from '../../errors.ts';
import type { ResolvedPod } from '../types.ts';
import { clientTokenFor, podTags, startedByFor } from './naming.ts';
import { EcsAnnotation } from './task-definition.ts';

export interface RunTaskSettings {
  /** The ECS cluster. */
  cluster: string;
  /** Funclet's cluster name (the funclet-cluster tag). */
  clusterName: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  assignPublicIp: boolean;
}

export function runTaskInputFor(
  pod: ResolvedPod,
  taskDefinitionArn: string,
  settings: RunTaskSettings,
): RunTaskCommandInput {
  return {
    cluster: settings.cluster,
    taskDefinition: taskDefinitionArn,
    count: 1,
    ...launchFor(pod),
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: [...settings.subnets],
        securityGroups: [...settings.securityGroups],
        assignPublicIp: settings.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    },
    startedBy: startedByFor(settings.clusterName, pod.node),
    group: `funclet:${pod.namespace}`.slice(0, 255),
    // The task carries its own identity; ECS adds aws:ecs:clusterName and the like on top.
    tags: podTags(pod, settings.clusterName),
    enableECSManagedTags: true,
    propagateTags: 'NONE',
    clientToken: clientTokenFor(pod.uid, pod.attempt),
  };
}

/** FARGATE unless the pod asks for FARGATE_SPOT (cheaper, may be interrupted: the task then stops with SpotInterruption). */
export function launchFor(
  pod: ResolvedPod,
): Pick<RunTaskCommandInput, 'launchType' | 'capacityProviderStrategy' | 'platformVersion'> {
  const wanted = pod.annotations[EcsAnnotation.capacityProvider] ?? 'FARGATE';
  switch (wanted) {
    case 'FARGATE':
    case '':
      return { launchType: 'FARGATE', platformVersion: 'LATEST' };
    case 'FARGATE_SPOT':
      return {
        capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
        platformVersion: 'LATEST',
      };
    default:
      throw new InvalidInputError(
        `annotation ${EcsAnnotation.capacityProvider} is ${JSON.stringify(wanted)}; it must be FARGATE or FARGATE_SPOT`,
      );
  }
}
