import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { VirtualNodeConfig } from '../config.ts';
import { errorMessage, NotFoundError, ThrottledError } from '../errors.ts';
import { mergePatch, type KubeClients } from '../kube/clients.ts';
import { apiStatus, kubeError } from '../kube/errors.ts';
import type { Logger } from '../log.ts';
import type { Provider } from '../providers/provider.ts';
import type { NodeCapacity, ProviderHealth } from '../providers/types.ts';
import type { NodeRecord, NodeRecords } from '../state/nodeRecords.ts';
import { readyNeedsRepost } from './conditions.ts';
import { renewNodeLease, type LeaseOutcome } from './lease.ts';
import { nodeLabels, nodeStatus, nodeTaints, virtualNode, type KubeletEndpoint } from './node.ts';

/** What the node heartbeat needs; built fresh by each invocation's composition root. */
export interface NodeDeps {
  kube: KubeClients;
  provider: Provider;
  records: NodeRecords;
  now: () => number;
  logger: Logger;
}

export interface LeaseRenewal {
  lease: LeaseOutcome;
  nodeCreated: boolean;
  statusPosted: boolean;
}

/**
 * The 10-second heartbeat: make sure the Node exists, renew its Lease, and post the full status
 * at once when the API server no longer shows the node Ready (after the node lifecycle
 * controller marked it Unknown, or right after registration) rather than waiting for the
 * minute timer.
 */
export async function renewLease(deps: NodeDeps, node: VirtualNodeConfig): Promise<LeaseRenewal> {
  const { object, created } = await ensureNode(deps, node);
  const uid = object.metadata?.uid ?? '';
  const lease = await renewNodeLease(deps.kube, node.name, uid, deps.now);
  let statusPosted = false;
  if (created || readyNeedsRepost(object.status?.conditions)) {
    await postStatus(deps, node, object);
    statusPosted = true;
  }
  await deps.records.merge({
    node: node.name,
    nodeUid: uid,
    provider: node.provider,
    lastLeaseRenewAtMs: deps.now(),
  });
  return { lease, nodeCreated: created, statusPosted };
}

export interface StatusUpdate {
  ready: boolean;
  nodeCreated: boolean;
}

/** The minute timer: post the full node status with fresh heartbeat times. */
export async function updateNodeStatus(deps: NodeDeps, node: VirtualNodeConfig): Promise<StatusUpdate> {
  const { object, created } = await ensureNode(deps, node);
  await ensureLabelsAndTaints(deps, node, object);
  const health = await postStatus(deps, node, object);
  return { ready: health.ok, nodeCreated: created };
}

async function providerView(deps: NodeDeps, node: VirtualNodeConfig, current?: V1Node) {
  const health: ProviderHealth = await deps.provider.health().catch((err: unknown) => {
    // A throttled health check says nothing either way: keep what the node reports now, so
    // throttling alone never stops scheduling (or, later, evicts pods).
    if (err instanceof ThrottledError) {
      const ready = current?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'False' ? { ok: false, message: ready.message } : { ok: true };
    }
    return { ok: false, message: `health check failed: ${errorMessage(err)}` };
  });
  let capacity: NodeCapacity;
  try {
    capacity = await deps.provider.capacity(node.name);
  } catch (err) {
    // Keep reporting what the node had; a capacity of zero would evict nothing but would stop
    // scheduling for a transient error.
    const had = current?.status?.capacity ?? {};
    deps.logger.warn('provider capacity unavailable; keeping the last reported capacity', { error: err });
    capacity = {
      cpu: had.cpu ?? '0',
      memory: had.memory ?? '0',
      pods: had.pods ?? '0',
      ephemeralStorage: had['ephemeral-storage'] ?? '0',
    };
  }
  return { health, capacity };
}

async function ensureNode(
  deps: NodeDeps,
  node: VirtualNodeConfig,
): Promise<{ object: V1Node; created: boolean }> {
  try {
    return { object: await deps.kube.core.readNode({ name: node.name }), created: false };
  } catch (err) {
    const classified = kubeError(err, `read Node ${node.name}`);
    if (!(classified instanceof NotFoundError)) throw classified;
  }
  const { health, capacity } = await providerView(deps, node);
  try {
    const object = await deps.kube.core.createNode({ body: virtualNode(node, capacity, health, deps.now()) });
    deps.logger.info('node registered', { uid: object.metadata?.uid });
    await deps.records.merge({
      node: node.name,
      nodeUid: object.metadata?.uid,
      provider: node.provider,
      registeredAtMs: deps.now(),
    });
    return { object, created: true };
  } catch (err) {
    // Registered by a concurrent invocation between our read and create: use theirs.
    const classified = kubeError(err, `register Node ${node.name}`);
    if (classified.name !== 'ConflictError') throw classified;
    return { object: await deps.kube.core.readNode({ name: node.name }), created: false };
  }
}

async function postStatus(deps: NodeDeps, node: VirtualNodeConfig, current: V1Node): Promise<ProviderHealth> {
  const [{ health, capacity }, record] = await Promise.all([
    providerView(deps, node, current),
    deps.records.get(node.name),
  ]);
  const now = deps.now();
  const status = nodeStatus(node, capacity, health, current.status, now, endpointOf(record));
  try {
    await deps.kube.core.patchNodeStatus({ name: node.name, body: { status } }, mergePatch);
  } catch (err) {
    throw kubeError(err, `patch status of Node ${node.name}`);
  }
  await deps.records.merge({
    node: node.name,
    lastStatusAtMs: now,
    ready: health.ok,
    readyMessage: health.ok ? '' : (health.message ?? ''),
  });
  if (!health.ok) deps.logger.warn('node reported NotReady: provider unhealthy', { reason: health.message });
  return health;
}

/** The kubelet endpoint the node's record holds, if a relay announced one. */
export function endpointOf(record: NodeRecord | undefined): KubeletEndpoint | undefined {
  if (record?.kubeletAddress === undefined || record.kubeletPort === undefined) return undefined;
  return {
    address: record.kubeletAddress,
    port: record.kubeletPort,
    announcedAtMs: record.kubeletAnnouncedAtMs ?? 0,
  };
}

/**
 * Adds labels and taints the configuration asks for and the Node lacks. Taints others added
 * (the node lifecycle controller's unreachable taints, an operator's cordon) are kept. Under its
 * own `system:node:` identity a node may not change its taints (NodeRestriction), as a kubelet
 * may not: a taint removed after registration is then reported, for an administrator to restore.
 */
async function ensureLabelsAndTaints(
  deps: NodeDeps,
  node: VirtualNodeConfig,
  current: V1Node,
): Promise<void> {
  const labels = nodeLabels(node);
  const have = current.metadata?.labels ?? {};
  const missingLabels = Object.fromEntries(Object.entries(labels).filter(([k, v]) => have[k] !== v));
  const taints = current.spec?.taints ?? [];
  const missingTaints = nodeTaints(node).filter((t) => !taints.some((h) => sameTaint(h, t)));
  if (Object.keys(missingLabels).length > 0) {
    try {
      await deps.kube.core.patchNode(
        { name: node.name, body: { metadata: { labels: missingLabels } } },
        mergePatch,
      );
    } catch (err) {
      throw kubeError(err, `restore labels of Node ${node.name}`);
    }
  }
  if (missingTaints.length === 0) return;
  try {
    await deps.kube.core.patchNode(
      { name: node.name, body: { spec: { taints: [...taints, ...missingTaints] } } },
      mergePatch,
    );
  } catch (err) {
    if (apiStatus(err) !== 403) throw kubeError(err, `restore taints of Node ${node.name}`);
    deps.logger.warn('a taint of the node is missing, and a node may not restore its own taints', {
      missing: missingTaints.map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`),
    });
  }
}

function sameTaint(a: V1Taint, b: V1Taint): boolean {
  return a.key === b.key && a.effect === b.effect && (a.value ?? '') === (b.value ?? '');
}
