import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { KubeClients } from '../kube/clients.ts';
import { kubeError } from '../kube/errors.ts';
import { recordLeaseRenewalLag } from '../telemetry/metrics.ts';

export const nodeLeaseNamespace = 'kube-node-lease';
/** How long the lease counts as held without renewal; renewed every 10 s. */
export const leaseDurationSeconds = 40;

/** The Lease a kubelet holds for its node, owned by the Node so it goes when the Node goes. */
export function nodeLease(nodeName: string, nodeUid: string, nowMs: number): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: nodeLeaseNamespace,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds, renewTime: new V1MicroTime(nowMs) },
  };
}

export type LeaseOutcome = 'created' | 'renewed';

/**
 * Renews kube-node-lease/<node>, creating it when missing. A concurrent renewal (another
 * instance, the same tick) is a conflict: reload and write again, so both calls succeed and
 * the lease ends up with the later time.
 */
export async function renewNodeLease(
  kube: KubeClients,
  nodeName: string,
  nodeUid: string,
  now: () => number,
): Promise<LeaseOutcome> {
  const api = kube.coordination;
  for (let attempt = 1; ; attempt++) {
    try {
      let current: V1Lease;
      try {
        current = await api.readNamespacedLease({ name: nodeName, namespace: nodeLeaseNamespace });
      } catch (err) {
        const classified = kubeError(err, `read Lease ${nodeLeaseNamespace}/${nodeName}`);
        if (!(classified instanceof NotFoundError)) throw classified;
        try {
          await api.createNamespacedLease({
            namespace: nodeLeaseNamespace,
            body: nodeLease(nodeName, nodeUid, now()),
          });
          return 'created';
        } catch (createErr) {
          throw kubeError(createErr, `create Lease ${nodeLeaseNamespace}/${nodeName}`);
        }
      }
      const desired = nodeLease(nodeName, nodeUid, now());
      const renewedAtMs = current.spec?.renewTime ? new Date(current.spec.renewTime).getTime() : NaN;
      // Keep whatever else is on the lease (labels, other owners), but take holder, duration,
      // renew time and the owner reference to the current Node, which may have been recreated.
      const body: V1Lease = {
        ...current,
        metadata: {
          ...current.metadata,
          ownerReferences: [
            ...(current.metadata?.ownerReferences ?? []).filter((o) => o.kind !== 'Node'),
            ...(desired.metadata?.ownerReferences ?? []),
          ],
        },
        spec: { ...current.spec, ...desired.spec },
      };
      try {
        await api.replaceNamespacedLease({ name: nodeName, namespace: nodeLeaseNamespace, body });
      } catch (err) {
        throw kubeError(err, `renew Lease ${nodeLeaseNamespace}/${nodeName}`);
      }
      recordLeaseRenewalLag(now() - renewedAtMs, nodeName);
      return 'renewed';
    } catch (err) {
      if (err instanceof ConflictError && attempt < 5) continue;
      throw err;
    }
  }
}
