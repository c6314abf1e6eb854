/**
 * The tags that tie a container group to its pod, node and cluster. They are the only link back
 * from ACI to Kubernetes: listPods finds a node's groups by them, and a group whose pod UID tag
 * differs from the pod being created is never adopted.
 */
export const AciTag = {
  namespace: 'funclet-namespace',
  pod: 'funclet-pod',
  podUid: 'funclet-pod-uid',
  node: 'funclet-node',
  cluster: 'funclet-cluster',
  attempt: 'funclet-attempt',
  /** The pod's native sidecars, which run as containers of the group (mapping.ts): names, comma-separated. */
  sidecars: 'funclet-sidecars',
} as const;
export type AciTag = (typeof AciTag)[keyof typeof AciTag];

export interface TaggedPod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  cluster: string;
  attempt: number;
}

export function podTags(
  pod: Omit<TaggedPod, 'cluster'>,
  clusterName: string,
): Record<Exclude<AciTag, typeof AciTag.sidecars>, string> {
  return {
    [AciTag.namespace]: pod.namespace,
    [AciTag.pod]: pod.name,
    [AciTag.podUid]: pod.uid,
    [AciTag.node]: pod.node,
    [AciTag.cluster]: clusterName,
    [AciTag.attempt]: String(pod.attempt),
  };
}

/** The pod a group was created for, or undefined when the group lacks Funclet's tags. */
export function taggedPod(tags: Record<string, string> | undefined): TaggedPod | undefined {
  if (tags === undefined) return undefined;
  const namespace = tags[AciTag.namespace];
  const name = tags[AciTag.pod];
  const uid = tags[AciTag.podUid];
  const node = tags[AciTag.node];
  const cluster = tags[AciTag.cluster];
  if (
    namespace === undefined ||
    name === undefined ||
    uid === undefined ||
    node === undefined ||
    cluster === undefined
  ) {
    return undefined;
  }
  const attempt = Number(tags[AciTag.attempt] ?? '0');
  return { namespace, name, uid, node, cluster, attempt: Number.isInteger(attempt) ? attempt : 0 };
}

/** The names of the group's containers that are the pod's sidecars. */
export function taggedSidecars(tags: Record<string, string> | undefined): Set<string> {
  const value = tags?.[AciTag.sidecars];
  return new Set(value === undefined || value === '' ? [] : value.split(','));
}

/** Whether a group belongs to this node of this cluster (two clusters may share a resource group). */
export function ownedBy(
  tags: Record<string, string> | undefined,
  node: string,
  clusterName: string,
): boolean {
  return tags?.[AciTag.node] === node && tags[AciTag.cluster] === clusterName;
}
