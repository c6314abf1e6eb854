/**
 * The names and tags by which Funclet finds its ECS tasks again from any function instance:
 * everything here is derived deterministically from the cluster, node and pod.
 */
import { createHash } from 'node:crypto';
import type { Tag } from '@aws-sdk/client-ecs';
import type { ResolvedPod } from '../types.ts';

export const TagKey = {
  podUid: 'funclet-pod-uid',
  namespace: 'funclet-namespace',
  pod: 'funclet-pod',
  node: 'funclet-node',
  cluster: 'funclet-cluster',
  attempt: 'funclet-attempt',
} as const;
export type TagKey = (typeof TagKey)[keyof typeof TagKey];

/** Every task definition family Funclet registers starts with this; nothing else is ever deregistered. */
export const familyPrefix = 'funclet-';

/**
 * The RunTask `startedBy` of every task on one virtual node. ECS caps startedBy at 36 characters,
 * so it is `funclet-` plus the first 28 hex digits of SHA-256(cluster, node): ListTasks can then
 * filter on the node exactly, and the node/cluster tags settle the (negligible) chance of a collision.
 */
export function startedByFor(clusterName: string, node: string): string {
  return `funclet-${sha256Hex(`${clusterName}\u0000${node}`).slice(0, 28)}`;
}

/**
 * RunTask's idempotency token (up to 64 printable ASCII characters): one per pod UID and attempt,
 * so that a retried RunTask after a lost response does not start a second task.
 */
export function clientTokenFor(podUid: string, attempt: number): string {
  return `${podUid}-${attempt}`.slice(0, 64);
}

/**
 * Init containers live in the same task as app containers and Kubernetes names share one namespace
 * per pod; ECS keeps no flag that tells them apart in DescribeTasks. They are registered as
 * `init_<name>`: `_` cannot occur in a Kubernetes container name, so the mapping is unambiguous.
 */
const initPrefix = 'init_';

export function ecsContainerName(name: string, kind: 'app' | 'init'): string {
  return kind === 'init' ? `${initPrefix}${name}` : name;
}

export function podContainerName(ecsName: string): { name: string; kind: 'app' | 'init' } {
  return ecsName.startsWith(initPrefix)
    ? { name: ecsName.slice(initPrefix.length), kind: 'init' }
    : { name: ecsName, kind: 'app' };
}

export function podTags(pod: ResolvedPod, clusterName: string): Tag[] {
  const tags: Record<TagKey, string> = {
    [TagKey.podUid]: pod.uid,
    [TagKey.namespace]: pod.namespace,
    [TagKey.pod]: pod.name,
    [TagKey.node]: pod.node,
    [TagKey.cluster]: clusterName,
    [TagKey.attempt]: String(pod.attempt),
  };
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

export function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.key !== undefined) out[tag.key] = tag.value ?? '';
  return out;
}

/** The last path segment of a task ARN (`arn:aws:ecs:region:account:task/cluster/ID`). */
export function taskIdFromArn(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
