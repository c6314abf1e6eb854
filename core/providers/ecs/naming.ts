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
/** Native sidecars (init containers with restartPolicy Always) are `sidecar_<name>`. */
const sidecarPrefix = 'sidecar_';

export type EcsContainerKind = 'app' | 'init' | 'sidecar';

export function ecsContainerName(name: string, kind: EcsContainerKind): string {
  return kind === 'init' ? `${initPrefix}${name}` : kind === 'sidecar' ? `${sidecarPrefix}${name}` : name;
}

export function podContainerName(ecsName: string): { name: string; kind: EcsContainerKind } {
  if (ecsName.startsWith(initPrefix)) return { name: ecsName.slice(initPrefix.length), kind: 'init' };
  if (ecsName.startsWith(sidecarPrefix))
    return { name: ecsName.slice(sidecarPrefix.length), kind: 'sidecar' };
  return { name: ecsName, kind: 'app' };
}

/** How an init container of the pod runs in its task: a sidecar beside the app containers, or before them. */
export function initKind(c: { restartPolicy?: 'Always' }): 'init' | 'sidecar' {
  return c.restartPolicy === 'Always' ? 'sidecar' : 'init';
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
