/**
 * `funclet attach`: connects a cluster to a Funclet deployment. With the operator's admin
 * kubeconfig (used to install and to issue, never stored or printed), it installs infra/k8s and
 * makes the functions' credential, and writes the kubeconfig the Function App keeps as
 * FUNCLET_KUBECONFIG (its Key Vault secret, or a file of mode 0600). Given the webhook URL,
 * secret and relay image, it also installs the relay, its Secret and its NetworkPolicy narrowed
 * to this cluster's API server.
 *
 * The credential (cli/identity.ts). By default each virtual node is system:node:<name>, with a
 * client certificate issued through the CSR API: a key made here, the request approved with the
 * admin's rights; the nodes renew their certificates themselves. Where a cluster cannot give
 * nodes that identity, `identity: 'service-account'` is the weaker fallback: an expiring token of
 * the funclet ServiceAccount, renewed by the functions too. The kubeconfig holds private keys or a
 * token: it is written to the store only, never printed, never logged.
 *
 * infra/k8s is the Helm chart infra/helm/funclet rendered (cli/chart.ts), so attach installs the
 * chart's objects; `chartValues` gives the chart the values that make the same objects for this
 * cluster, for operators who install the cluster side with Helm and let attach issue the
 * credential only.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1NetworkPolicy,
  type V1Secret,
} from '@kubernetes/client-node';
import type { KubeconfigStore } from '../core/kube/kubeconfigStore.ts';
import { functionUrlProblem, splitFunctionKey } from '../core/relay/outgoing.ts';
import {
  nodeIdentityKubeconfig,
  nodeRestriction,
  serviceAccountFallbackKubeconfig,
  type CredentialKind,
} from './identity.ts';
import { applyManifests, k8sManifestDir, readManifests } from './manifests.ts';
import { minSecretLength, RelaySetting } from './relay.ts';
import type { ChartValues } from './chart.ts';
import { apiServerEndpoints, narrowedRelayPolicy } from './relayNetworkPolicy.ts';
import { caPemOf } from './serviceAccount.ts';

export interface AttachOptions {
  /** The admin kubeconfig document. Used to install and issue, never stored or printed. */
  adminKubeconfigText: string;
  /** A context of the admin kubeconfig other than its current one. */
  adminContext?: string;
  /** The virtual nodes (FUNCLET_NODES' names): each gets its own credential; the relay watches them. */
  nodes: string[];
  /** node (the default): a system:node: certificate per node; service-account: the weaker fallback. */
  identity?: CredentialKind;
  /** Node identity: the certificates' lifetime asked of the signer (its default otherwise). */
  certificateExpirationSeconds?: number;
  /** The fallback's token lifetime (at least 600 s; 24 h by default); the functions renew it. */
  tokenExpirationSeconds?: number;
  /** Where the kubeconfig goes (Key Vault secret, file): it is never printed. */
  store: KubeconfigStore;
  /**
   * podEvents' URL: the relay's FUNCLET_WEBHOOK_URL. Given with its key (`...?code=<key>`, as the
   * portal shows it), the key is taken out of the URL into FUNCLET_FUNCTION_KEY.
   */
  webhookUrl?: string;
  /** The Function App's FUNCLET_WEBHOOK_SECRET. */
  webhookSecret?: string;
  /** The function key, sent as x-functions-key (when the URL does not carry it). */
  functionKey?: string;
  /** The relay image (infra/relay/Dockerfile), best pinned by digest. Required with the relay. */
  relayImage?: string;
  /** Where the relay reaches the Function App when it has a private endpoint (its subnet). */
  functionAppCidrs?: string[];
  /** Reports where the kubeconfig went. */
  out: (text: string) => void;
  /** Progress and next steps; never a credential. */
  log?: (line: string) => void;
}

export interface AttachResult {
  /** For the caller in this process (tests); the CLI prints none of it. */
  kubeconfig: string;
  credential:
    | {
        kind: 'node';
        expiresAt: Record<string, string>;
        /** Whether the cluster stops a node writing other nodes' objects (unknown without another node to try). */
        nodeRestriction: 'enforced' | 'not enforced' | 'unknown';
      }
    | { kind: 'service-account'; expiresAt: string | undefined };
  relay?: { nodes: string[]; image: string };
}

/** The relay's Secret, read by infra/k8s/relay-deployment.yaml. */
export const relaySecret = { namespace: 'funclet-system', name: 'funclet-relay' };

const relayDeploymentName = 'funclet-relay';
const relayNetworkPolicyName = 'funclet-relay';
const nodeName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const defaultTokenExpirationSeconds = 24 * 3600;

export async function runAttach(options: AttachOptions): Promise<AttachResult> {
  const log = options.log ?? (() => undefined);
  const nodes = checkedNodes(options);
  const relay = relayRequest(options, nodes);
  const admin = new KubeConfig();
  admin.loadFromString(options.adminKubeconfigText);
  if (options.adminContext !== undefined) admin.setCurrentContext(options.adminContext);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  caPemOf(cluster); // refuse before changing anything in the cluster

  let kubeconfig: string;
  let credential: AttachResult['credential'];
  if ((options.identity ?? 'node') === 'node') {
    const issued = await nodeIdentityKubeconfig(admin, nodes, {
      expirationSeconds: options.certificateExpirationSeconds,
      log,
    });
    kubeconfig = issued.kubeconfig;
    const restriction = await nodeRestriction(admin, kubeconfig, nodes[0]!);
    credential = { kind: 'node', expiresAt: issued.expiresAt, nodeRestriction: restriction };
    log(`applied infra/k8s to ${cluster.server}; the nodes renew their certificates before they expire`);
    if (restriction === 'not enforced')
      log(
        'warning: this cluster does not run the NodeRestriction admission plugin: a node credential may write other nodes, their Leases and the status of pods on them; enable it (kube-apiserver --enable-admission-plugins=NodeRestriction)',
      );
  } else {
    const seconds = options.tokenExpirationSeconds ?? defaultTokenExpirationSeconds;
    if (!Number.isInteger(seconds) || seconds < 600)
      throw new Error(
        'tokenExpirationSeconds must be a whole number of at least 600 (the API server minimum)',
      );
    const minted = await serviceAccountFallbackKubeconfig(admin, nodes, { expirationSeconds: seconds });
    kubeconfig = minted.kubeconfig;
    credential = { kind: 'service-account', expiresAt: minted.expiresAt };
    log(
      `applied infra/k8s to ${cluster.server}; the ServiceAccount fallback's token expires at ${minted.expiresAt ?? 'an unreported time'} and the functions renew it before then`,
    );
  }
  assertNoAdminCredentials(kubeconfig, admin);

  // The NetworkPolicy is narrowed whether or not the relay is installed now.
  const policy = narrowedRelayPolicy(
    relayNetworkPolicyManifest(),
    await apiServerEndpoints(admin),
    options.functionAppCidrs,
  );
  await applyManifests(admin, [policy]);

  let relayResult: AttachResult['relay'];
  if (relay) {
    await applyManifests(admin, [
      relaySecretObject(relay),
      relayDeploymentFor(relayDeploymentManifest(), relay),
    ]);
    relayResult = { nodes: relay.nodes, image: relay.image };
    log(`installed the relay for ${relay.nodes.join(', ')} with ${relay.image}`);
    if (!relay.image.includes('@sha256:'))
      log(`the relay image is not pinned by digest; prefer <registry>/funclet-relay@sha256:...`);
    log(`watch it come up: kubectl -n funclet-system rollout status deployment/${relayDeploymentName}`);
  }

  await options.store.write(kubeconfig);
  options.out(
    `wrote the functions' kubeconfig (${credential.kind === 'node' ? 'node identity' : 'ServiceAccount fallback'}) to ${options.store.where}\n`,
  );
  log('restart the Function App (az functionapp restart) so that every instance reads it');
  return { kubeconfig, credential, relay: relayResult };
}

/**
 * The chart's values for what runAttach would install in this cluster: the nodes, the credential
 * kind, the relay (image, webhook URL, secret and key) and the NetworkPolicy narrowed to the API
 * server's endpoints. Reads the cluster, changes nothing in it. The values hold the webhook secret
 * when the relay is asked for: keep them as a secret.
 */
export async function chartValues(options: Omit<AttachOptions, 'store' | 'out'>): Promise<ChartValues> {
  const nodes = checkedNodes(options);
  const relay = relayRequest(options, nodes);
  const admin = new KubeConfig();
  admin.loadFromString(options.adminKubeconfigText);
  if (options.adminContext !== undefined) admin.setCurrentContext(options.adminContext);
  const apiServer = await apiServerEndpoints(admin);
  const policy = narrowedRelayPolicy(relayNetworkPolicyManifest(), apiServer, options.functionAppCidrs);
  const cidrs = (rule: number) =>
    (policy.spec?.egress?.[rule]?.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock.cidr] : []));
  return {
    nodes,
    credential: options.identity ?? 'node',
    relay: relay
      ? {
          enabled: true,
          image: relay.image,
          webhook: {
            url: relay.webhookUrl,
            secret: relay.webhookSecret,
            ...(relay.functionKey === undefined ? {} : { functionKey: relay.functionKey }),
          },
        }
      : { enabled: false },
    networkPolicy: {
      enabled: true,
      apiServer: { cidrs: cidrs(1), port: apiServer.port },
      ...(options.functionAppCidrs?.length ? { functionAppCidrs: cidrs(2) } : {}),
    },
  };
}

function checkedNodes(options: AttachOptions | Omit<AttachOptions, 'store' | 'out'>): string[] {
  const nodes = [...new Set(options.nodes)];
  const bad = nodes.filter((n) => !nodeName.test(n));
  if (nodes.length === 0)
    throw new Error('funclet attach: name the virtual nodes (FUNCLET_NODES) it attaches');
  if (bad.length > 0)
    throw new Error(`funclet attach: ${bad.map((n) => `"${n}"`).join(', ')} is not a valid node name`);
  return nodes;
}

export interface RelayRequest {
  webhookUrl: string;
  webhookSecret: string;
  functionKey?: string;
  nodes: string[];
  image: string;
}

/** The relay's inputs, all or none, checked before anything touches the cluster. */
function relayRequest(
  options: AttachOptions | Omit<AttachOptions, 'store' | 'out'>,
  nodes: string[],
): RelayRequest | undefined {
  const given = { webhookUrl: options.webhookUrl, webhookSecret: options.webhookSecret };
  const missing = Object.entries(given).filter(([, v]) => v === undefined || v === '');
  if (missing.length === 2) return undefined;
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(
      `the relay needs webhookUrl and webhookSecret together; missing ${missing.map(([k]) => k).join(', ')}`,
    );
  const split = splitFunctionKey(given.webhookUrl ?? '');
  const functionKey = options.functionKey ?? split.functionKey;
  const webhookUrl = split.url;
  const webhookSecret = given.webhookSecret ?? '';
  const urlProblem = webhookUrl === '' ? undefined : functionUrlProblem(webhookUrl);
  if (urlProblem !== undefined) problems.push(`webhookUrl (${RelaySetting.webhookUrl}) ${urlProblem}`);
  if (webhookSecret !== '' && webhookSecret.length < minSecretLength)
    problems.push(`webhookSecret must be at least ${minSecretLength} characters`);
  const image = options.relayImage?.trim() ?? '';
  if (image === '')
    problems.push('relayImage is required with the relay: build infra/relay/Dockerfile and push it');
  if (problems.length > 0) throw new Error(`funclet attach: ${problems.join('; ')}`);
  return { webhookUrl, webhookSecret, functionKey, nodes, image };
}

function manifestOf(file: string, kind: string, name: string): KubernetesObject {
  const found = readManifests(k8sManifestDir, [file]).find(
    (o) => o.kind === kind && o.metadata?.name === name,
  );
  if (!found) throw new Error(`${join(k8sManifestDir, file)} holds no ${kind} ${name}`);
  return found;
}

/** infra/k8s/relay-deployment.yaml: readManifests() leaves it out of the RBAC it applies. */
function relayDeploymentManifest(): V1Deployment {
  return manifestOf('relay-deployment.yaml', 'Deployment', relayDeploymentName);
}

function relayNetworkPolicyManifest(): V1NetworkPolicy {
  return manifestOf('relay-networkpolicy.yaml', 'NetworkPolicy', relayNetworkPolicyName);
}

export function relaySecretObject(relay: RelayRequest): V1Secret & KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...relaySecret, labels: { 'app.kubernetes.io/part-of': 'funclet' } },
    type: 'Opaque',
    stringData: {
      [RelaySetting.webhookUrl]: relay.webhookUrl,
      [RelaySetting.webhookSecret]: relay.webhookSecret,
      ...(relay.functionKey === undefined ? {} : { [RelaySetting.functionKey]: relay.functionKey }),
    },
  };
}

/**
 * The Deployment of infra/k8s/relay-deployment.yaml with the image and nodes set, and a hash of
 * the webhook settings in the pod template: env from a Secret is read at container start only,
 * so a changed URL, secret or key must roll the pod.
 */
export function relayDeploymentFor(
  manifest: V1Deployment,
  relay: { webhookUrl: string; webhookSecret: string; functionKey?: string; nodes: string[]; image: string },
): V1Deployment & KubernetesObject {
  const deployment = structuredClone(manifest) as V1Deployment & KubernetesObject;
  const template = deployment.spec?.template;
  const container = template?.spec?.containers.find((c) => c.name === 'relay');
  if (!template || !container) throw new Error('the relay Deployment has no container named relay');
  container.image = relay.image;
  const env = (container.env ??= []);
  const nodes = env.find((e) => e.name === RelaySetting.nodes);
  if (nodes) nodes.value = relay.nodes.join(',');
  else env.push({ name: RelaySetting.nodes, value: relay.nodes.join(',') });
  const digest = createHash('sha256')
    .update(`${relay.webhookUrl}\n${relay.webhookSecret}\n${relay.functionKey ?? ''}`)
    .digest('hex');
  template.metadata = {
    ...template.metadata,
    annotations: { ...template.metadata?.annotations, 'funclet.io/relay-secret-sha256': digest },
  };
  return deployment;
}

/**
 * Defence in depth: the kubeconfig is built from the server, the CA and the new credential only,
 * and this checks that none of the admin user's secrets slipped in.
 */
function assertNoAdminCredentials(kubeconfig: string, admin: KubeConfig): void {
  const user = admin.getCurrentUser();
  const secrets = [user?.token, user?.keyData, user?.certData, user?.password].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  if (secrets.some((s) => kubeconfig.includes(s)))
    throw new Error('refusing to store a kubeconfig that holds the admin credentials');
}
