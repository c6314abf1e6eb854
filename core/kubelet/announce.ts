/**
 * A relay says where it serves a node's kubelet endpoint. The announcement is remembered in the
 * node's record (nodeStatus posts it every minute from there) and, when the Node does not show
 * it yet, posted at once, so `kubectl logs` works as soon as a new relay pod is up.
 */
import { NotFoundError } from '../errors.ts';
import { mergePatch } from '../kube/clients.ts';
import { kubeError } from '../kube/errors.ts';
import { nodeEndpoint, type KubeletEndpoint } from '../node/node.ts';
import type { KubeletDeps } from './deps.ts';
import type { AnnounceRequest } from './protocol.ts';

export interface AnnounceOutcome {
  /** The Node's status was patched to show the endpoint. */
  posted: boolean;
}

export async function announceEndpoint(
  deps: KubeletDeps,
  request: AnnounceRequest,
): Promise<AnnounceOutcome> {
  const endpoint: KubeletEndpoint = {
    address: request.address,
    port: request.port,
    announcedAtMs: deps.now(),
  };
  await deps.nodes.merge({
    node: deps.node.name,
    kubeletAddress: endpoint.address,
    kubeletPort: endpoint.port,
    kubeletAnnouncedAtMs: endpoint.announcedAtMs,
  });
  let current;
  try {
    current = await deps.kube.core.readNode({ name: deps.node.name });
  } catch (err) {
    const classified = kubeError(err, `read Node ${deps.node.name}`);
    // Not registered yet: leaseRenew registers it and posts the endpoint from the record.
    if (classified instanceof NotFoundError) return { posted: false };
    throw classified;
  }
  const shown = current.status?.addresses ?? [];
  const port = current.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (
    shown.length === 1 &&
    shown[0]?.type === 'InternalIP' &&
    shown[0].address === endpoint.address &&
    port === endpoint.port
  ) {
    return { posted: false };
  }
  try {
    await deps.kube.core.patchNodeStatus(
      { name: deps.node.name, body: { status: nodeEndpoint(endpoint) } },
      mergePatch,
    );
  } catch (err) {
    throw kubeError(err, `post the kubelet endpoint of Node ${deps.node.name}`);
  }
  deps.logger.info('kubelet endpoint posted', { address: endpoint.address, port: endpoint.port });
  return { posted: true };
}
