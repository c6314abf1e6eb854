/**
 * The relay's NetworkPolicy (infra/k8s/relay-networkpolicy.yaml) narrowed to this cluster: its
 * API server rule allows only the addresses and port of the default/kubernetes Service's
 * endpoints, and its Function App rule only the given CIDRs when the app is behind a private
 * endpoint.
 */
import { isIPv4, isIPv6 } from 'node:net';
import {
  DiscoveryV1Api,
  type KubeConfig,
  type V1NetworkPolicy,
  type V1NetworkPolicyEgressRule,
} from '@kubernetes/client-node';

/** Where the API server is, as the cluster's own endpoints say: addresses and one port. */
export interface ApiServerEndpoints {
  addresses: string[];
  port: number;
}

/**
 * The API server's endpoints from the default/kubernetes EndpointSlice; when it has none (a
 * control plane on loopback, whose address may not be an endpoint), the admin kubeconfig's
 * server if that is an IP address.
 */
export async function apiServerEndpoints(admin: KubeConfig): Promise<ApiServerEndpoints> {
  const slices = await admin.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
    namespace: 'default',
    labelSelector: 'kubernetes.io/service-name=kubernetes',
  });
  const addresses = new Set<string>();
  let port: number | undefined;
  for (const slice of slices.items) {
    for (const e of slice.endpoints ?? []) for (const a of e.addresses) addresses.add(a);
    port ??= slice.ports?.find((p) => p.name === 'https')?.port ?? slice.ports?.[0]?.port;
  }
  if (addresses.size > 0 && port !== undefined) return { addresses: [...addresses].sort(), port };
  const server = admin.getCurrentCluster()?.server ?? '';
  const url = URL.canParse(server) ? new URL(server) : undefined;
  const host = url?.hostname.replace(/^\[|\]$/g, '') ?? '';
  if (url && (isIPv4(host) || isIPv6(host)))
    return { addresses: [host], port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
  throw new Error(
    'the default/kubernetes Service has no endpoints: cannot narrow the relay to the API server',
  );
}

/** The policy with the API server rule (the one allowing 6443) and, given CIDRs, the Function App rule replaced. */
export function narrowedRelayPolicy(
  policy: V1NetworkPolicy,
  apiServer: ApiServerEndpoints,
  functionAppCidrs: readonly string[] = [],
): V1NetworkPolicy {
  const narrowed = structuredClone(policy);
  const egress = narrowed.spec?.egress ?? [];
  const apiRule = egress.find((r) => r.ports?.some((p) => p.port === 6443));
  const appRule = egress.find((r) => r !== apiRule && r.ports?.some((p) => p.port === 443));
  if (!apiRule || !appRule)
    throw new Error('the relay NetworkPolicy has no API server and Function App egress rules');
  apiRule.to = apiServer.addresses.map((a) => ({ ipBlock: { cidr: hostCidr(a) } }));
  apiRule.ports = [{ protocol: 'TCP', port: apiServer.port }];
  if (functionAppCidrs.length > 0) appRule.to = functionAppCidrs.map((cidr) => ({ ipBlock: { cidr } }));
  return narrowed;
}

function hostCidr(address: string): string {
  if (isIPv4(address)) return `${address}/32`;
  if (isIPv6(address)) return `${address}/128`;
  throw new Error(`the API server endpoint ${address} is not an IP address`);
}

/** Rules that allow some port to every address: what a narrowed policy must no longer have for the API server. */
export function openRules(policy: V1NetworkPolicy): V1NetworkPolicyEgressRule[] {
  return (policy.spec?.egress ?? []).filter((r) =>
    (r.to ?? []).some(
      (peer) =>
        peer.ipBlock !== undefined &&
        /\/0$/.test(peer.ipBlock.cidr) &&
        (peer.ipBlock.except ?? []).length === 0,
    ),
  );
}
