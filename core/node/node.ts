import type { V1Node, V1NodeStatus, V1Taint } from '@kubernetes/client-node';
import type { VirtualNodeConfig } from '../config.ts';
import type { NodeCapacity, ProviderHealth } from '../providers/types.ts';
import { funcletVersion, kubeletApiVersion } from '../version.ts';
import { nodeConditions } from './conditions.ts';

/** The label and taint key naming the provider, as virtual-kubelet nodes carry it. */
export const providerTaintKey = 'virtual-kubelet.io/provider';
export const providerLabelKey = 'funclet.io/provider';

/** The kubelet's port, posted until a relay announces where it serves the node's endpoint. */
export const kubeletPort = 10250;

/**
 * An announcement older than this no longer names the node's address: the relay renews it every
 * 30 s, and a pod IP left behind by a relay that is gone may be given to another pod, which must
 * not receive what the API server sends a kubelet.
 */
export const kubeletEndpointTtlMs = 3 * 60_000;

/** Where the node's kubelet endpoint is served (the relay's pod IP and the node's port). */
export interface KubeletEndpoint {
  address: string;
  port: number;
  announcedAtMs: number;
}

/** The endpoint to post at `nowMs`, if a relay announced one recently enough. */
export function liveEndpoint(
  endpoint: KubeletEndpoint | undefined,
  nowMs: number,
): KubeletEndpoint | undefined {
  return endpoint !== undefined && nowMs - endpoint.announcedAtMs <= kubeletEndpointTtlMs
    ? endpoint
    : undefined;
}

/**
 * The node's addresses and kubelet port. Only an IP address is posted, never a name the API
 * server would have to resolve; with no live relay there is no address, and the API server
 * answers `kubectl logs` with "no preferred addresses found" rather than dialling a stale one.
 */
export function nodeEndpoint(
  endpoint: KubeletEndpoint | undefined,
): Pick<V1NodeStatus, 'addresses' | 'daemonEndpoints'> {
  return {
    addresses: endpoint ? [{ type: 'InternalIP', address: endpoint.address }] : [],
    daemonEndpoints: { kubeletEndpoint: { Port: endpoint?.port ?? kubeletPort } },
  };
}

export function nodeLabels(node: VirtualNodeConfig): Record<string, string> {
  return {
    ...node.labels,
    // No kubernetes.io/role: a node may set only the kubernetes.io labels NodeRestriction allows
    // (hostname, os, arch, topology, node.kubernetes.io/*), and Funclet registers as a node.
    type: 'virtual-kubelet',
    'kubernetes.io/os': node.os,
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': node.name,
    [providerLabelKey]: node.provider,
    'node.kubernetes.io/exclude-from-external-load-balancers': 'true',
  };
}

export function nodeTaints(node: VirtualNodeConfig): V1Taint[] {
  return [
    { key: providerTaintKey, value: node.provider, effect: 'NoSchedule' },
    ...node.taints.filter((t) => t.key !== providerTaintKey),
  ];
}

/** Capacity from the provider, with the node's configured overrides on top. */
export function nodeResources(node: VirtualNodeConfig, capacity: NodeCapacity): Record<string, string> {
  const resources: Record<string, string> = {
    cpu: node.capacity.cpu ?? capacity.cpu,
    memory: node.capacity.memory ?? capacity.memory,
    pods: node.capacity.pods ?? capacity.pods,
    'ephemeral-storage': node.capacity.ephemeralStorage ?? capacity.ephemeralStorage,
  };
  if (capacity.gpu !== undefined) resources['nvidia.com/gpu'] = capacity.gpu;
  return resources;
}

/** The full status a kubelet posts: conditions, capacity, addresses, endpoints, nodeInfo. */
export function nodeStatus(
  node: VirtualNodeConfig,
  capacity: NodeCapacity,
  health: ProviderHealth,
  current: V1NodeStatus | undefined,
  nowMs: number,
  endpoint?: KubeletEndpoint,
): V1NodeStatus {
  const resources = nodeResources(node, capacity);
  return {
    capacity: resources,
    allocatable: resources,
    conditions: nodeConditions(current?.conditions, health, nowMs),
    ...nodeEndpoint(liveEndpoint(endpoint, nowMs)),
    nodeInfo: {
      architecture: 'amd64',
      operatingSystem: node.os,
      kubeletVersion: `${kubeletApiVersion}-funclet-${funcletVersion}`,
      kubeProxyVersion: '',
      containerRuntimeVersion: `${node.provider}://funclet-${funcletVersion}`,
      kernelVersion: '',
      osImage: '',
      machineID: node.name,
      systemUUID: node.name,
      bootID: '',
    },
  };
}

/** The Node object registered for a virtual node. */
export function virtualNode(
  node: VirtualNodeConfig,
  capacity: NodeCapacity,
  health: ProviderHealth,
  nowMs: number,
): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: nodeLabels(node),
      annotations: { 'funclet.io/version': funcletVersion },
    },
    spec: { taints: nodeTaints(node) },
    status: nodeStatus(node, capacity, health, undefined, nowMs),
  };
}
