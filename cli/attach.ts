/**
 * `funclet attach`: connects a cluster to a Funclet deployment. With the operator's admin
 * kubeconfig, it installs infra/k8s (namespace, ServiceAccounts, least-privilege RBAC), makes a
 * credential for the funclet ServiceAccount and hands back the kubeconfig the Function App keeps
 * in its Key Vault (FUNCLET_KUBECONFIG): server, CA and that token, nothing of the admin's. Given
 * the webhook URL, secret and node names, it also installs the relay and its Secret.
 *
 * The credential. The functions run outside the cluster and cannot refresh a token, so by default
 * they get a token that does not expire: a `kubernetes.io/service-account-token` Secret
 * (funclet-system/funclet-token-<random>, labelled funclet.io/credential=functions) that the token
 * controller fills. It stays valid until the Secret or the ServiceAccount is deleted, which is how
 * it is revoked; `rotateToken` makes a new one and leaves the old to delete once replaced. With
 * `tokenExpirationSeconds`, a TokenRequest token is minted instead; it expires (the API server may
 * shorten the lifetime asked for, and the expiry is reported), after which every function fails
 * until `funclet attach` runs again and the vault secret is updated.
 */
import { createHash } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Secret,
} from '@kubernetes/client-node';
import { kubeconfigDocument } from '../core/kube/kubeconfig.ts';
import { applyManifests, k8sManifestDir, readManifests } from './manifests.ts';
import { minSecretLength, RelaySetting } from './relay.ts';
import { caPemOf, functionServiceAccount, functionServiceAccountKubeconfig } from './serviceAccount.ts';

export interface AttachOptions {
  /** The admin kubeconfig document. Used to install and mint, never stored or printed. */
  adminKubeconfigText: string;
  /** A context of the admin kubeconfig other than its current one. */
  adminContext?: string;
  /** podEvents' URL with its function key (`...?code=`): the relay's FUNCLET_WEBHOOK_URL. */
  webhookUrl?: string;
  /** The Function App's FUNCLET_WEBHOOK_SECRET. */
  webhookSecret?: string;
  /** The virtual nodes the relay watches. */
  nodes?: string[];
  /** The relay image (infra/relay/Dockerfile), best pinned by digest. Required with the relay. */
  relayImage?: string;
  /** Mint an expiring TokenRequest token instead of the non-expiring Secret-based one. */
  tokenExpirationSeconds?: number;
  /** Make a new Secret-based token even if one exists; the older ones stay valid until deleted. */
  rotateToken?: boolean;
  /** Receives the kubeconfig (when not written to a file) or the report of where it went. */
  out: (text: string) => void;
  /** Progress and next steps; never the kubeconfig. */
  log?: (line: string) => void;
  /** Write the kubeconfig here (mode 0600) instead of passing it to `out`. */
  writeFile?: string;
}

export interface AttachResult {
  kubeconfig: string;
  credential:
    | { kind: 'serviceAccountTokenSecret'; secret: string; previous: string[] }
    | { kind: 'tokenRequest'; expiresAt: string | undefined };
  relay?: { nodes: string[]; image: string };
}

/** The Secrets holding the functions' non-expiring tokens: generated names, found by label. */
export const functionTokenSecret = {
  namespace: functionServiceAccount.namespace,
  generateName: 'funclet-token-',
  label: 'funclet.io/credential',
  labelValue: 'functions',
} as const;
/** The relay's Secret, read by infra/k8s/relay-deployment.yaml. */
export const relaySecret = { namespace: 'funclet-system', name: 'funclet-relay' };

const relayDeploymentName = 'funclet-relay';
const nodeName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export async function runAttach(options: AttachOptions): Promise<AttachResult> {
  const log = options.log ?? (() => undefined);
  const relay = relayRequest(options);
  const admin = new KubeConfig();
  admin.loadFromString(options.adminKubeconfigText);
  if (options.adminContext !== undefined) admin.setCurrentContext(options.adminContext);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const caPem = caPemOf(cluster); // refuse before changing anything in the cluster

  let kubeconfig: string;
  let credential: AttachResult['credential'];
  if (options.tokenExpirationSeconds === undefined) {
    const rbac = readManifests();
    await applyManifests(admin, rbac);
    log(`applied infra/k8s to ${cluster.server}: ${rbac.map(describe).join(', ')}`);
    const where = await ensureTokenSecret(admin.makeApiClient(CoreV1Api), options.rotateToken === true, log);
    kubeconfig = kubeconfigDocument({
      server: cluster.server,
      caPem,
      user: functionServiceAccount.name,
      token: where.token,
    });
    credential = { kind: 'serviceAccountTokenSecret', secret: where.secret, previous: where.previous };
  } else {
    const seconds = options.tokenExpirationSeconds;
    if (!Number.isInteger(seconds) || seconds < 600)
      throw new Error(
        'tokenExpirationSeconds must be a whole number of at least 600 (the API server minimum)',
      );
    kubeconfig = await functionServiceAccountKubeconfig(admin, { expirationSeconds: seconds });
    log(`applied infra/k8s to ${cluster.server}`);
    // The API server may shorten the lifetime asked for: report the token's own expiry.
    const expiresAt = tokenExpiry(kubeconfig);
    log(
      `minted a TokenRequest token that expires at ${expiresAt ?? 'an unreported time'}; run funclet attach again and update the vault before then`,
    );
    credential = { kind: 'tokenRequest', expiresAt };
  }
  assertNoAdminCredentials(kubeconfig, admin);

  let relayResult: AttachResult['relay'];
  if (relay) {
    await applyManifests(admin, [
      relaySecretObject(relay.webhookUrl, relay.webhookSecret),
      relayDeploymentFor(relayDeploymentManifest(), relay),
    ]);
    relayResult = { nodes: relay.nodes, image: relay.image };
    log(`installed the relay for ${relay.nodes.join(', ')} with ${relay.image}`);
    if (!relay.image.includes('@sha256:'))
      log(`the relay image is not pinned by digest; prefer <registry>/funclet-relay@sha256:...`);
    log(`watch it come up: kubectl -n funclet-system rollout status deployment/${relayDeploymentName}`);
  }

  if (options.writeFile !== undefined) {
    // Truncate and restrict first: a mode given to writeFileSync applies only to a new file, and
    // the token must never sit in a file others can read.
    writeFileSync(options.writeFile, '', { mode: 0o600 });
    chmodSync(options.writeFile, 0o600);
    writeFileSync(options.writeFile, kubeconfig);
    options.out(`wrote the funclet ServiceAccount's kubeconfig to ${options.writeFile} (mode 0600)\n`);
  } else {
    options.out(kubeconfig);
  }
  log(
    "store it as the Function App's FUNCLET_KUBECONFIG: az keyvault secret set --vault-name <vault> --name funclet-kubeconfig --file <kubeconfig>, then az functionapp restart",
  );
  return { kubeconfig, credential, relay: relayResult };
}

interface RelayRequest {
  webhookUrl: string;
  webhookSecret: string;
  nodes: string[];
  image: string;
}

/** The relay's inputs, all or none, checked before anything touches the cluster. */
function relayRequest(options: AttachOptions): RelayRequest | undefined {
  const given = {
    webhookUrl: options.webhookUrl,
    webhookSecret: options.webhookSecret,
    nodes: options.nodes?.length ? options.nodes : undefined,
  };
  const missing = Object.entries(given).filter(([, v]) => v === undefined || v === '');
  if (missing.length === 3) return undefined;
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(
      `the relay needs webhookUrl, webhookSecret and nodes together; missing ${missing.map(([k]) => k).join(', ')}`,
    );
  const { webhookUrl = '', webhookSecret = '', nodes = [] } = given;
  if (webhookUrl !== '' && (!URL.canParse(webhookUrl) || !/^https?:$/.test(new URL(webhookUrl).protocol)))
    problems.push(`webhookUrl (${RelaySetting.webhookUrl}) must be an http(s) URL`);
  if (webhookSecret !== '' && webhookSecret.length < minSecretLength)
    problems.push(`webhookSecret must be at least ${minSecretLength} characters`);
  for (const n of nodes) if (!nodeName.test(n)) problems.push(`node "${n}" is not a valid node name`);
  const image = options.relayImage?.trim() ?? '';
  if (image === '')
    problems.push('relayImage is required with the relay: build infra/relay/Dockerfile and push it');
  if (problems.length > 0) throw new Error(`funclet attach: ${problems.join('; ')}`);
  return { webhookUrl, webhookSecret, nodes, image };
}

/** infra/k8s/relay-deployment.yaml: readManifests() leaves it out of the RBAC it applies. */
function relayDeploymentManifest(): V1Deployment {
  const file = 'relay-deployment.yaml';
  const deployment: V1Deployment | undefined = readManifests(k8sManifestDir, [file]).find(
    (o) => o.kind === 'Deployment' && o.metadata?.name === relayDeploymentName,
  );
  if (!deployment)
    throw new Error(`${join(k8sManifestDir, file)} holds no Deployment ${relayDeploymentName}`);
  return deployment;
}

/**
 * The funclet ServiceAccount's newest Secret-based token, or a new one. A Secret-based token has
 * no iat, exp or jti: recreating a Secret under the same name would mint the very same token.
 * So each token Secret gets a fresh generated name, and rotating creates another one while the
 * previous stay valid until the operator deletes them, after the vault holds the new kubeconfig.
 */
async function ensureTokenSecret(
  core: CoreV1Api,
  rotate: boolean,
  log: (line: string) => void,
): Promise<{ token: string; secret: string; previous: string[] }> {
  const { namespace } = functionTokenSecret;
  const listed = await core.listNamespacedSecret({
    namespace,
    labelSelector: `${functionTokenSecret.label}=${functionTokenSecret.labelValue}`,
  });
  const existing = listed.items
    .filter(
      (s) =>
        s.type === 'kubernetes.io/service-account-token' &&
        s.metadata?.annotations?.['kubernetes.io/service-account.name'] === functionServiceAccount.name &&
        s.metadata.deletionTimestamp === undefined,
    )
    .sort(
      (a, b) =>
        (b.metadata?.creationTimestamp?.getTime() ?? 0) - (a.metadata?.creationTimestamp?.getTime() ?? 0),
    );
  const reuse = rotate ? undefined : existing[0]?.metadata?.name;
  const name =
    reuse ??
    (
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            generateName: functionTokenSecret.generateName,
            labels: {
              'app.kubernetes.io/part-of': 'funclet',
              [functionTokenSecret.label]: functionTokenSecret.labelValue,
            },
            annotations: { 'kubernetes.io/service-account.name': functionServiceAccount.name },
          },
          type: 'kubernetes.io/service-account-token',
        },
      })
    ).metadata!.name!;
  // The token controller (kube-controller-manager) fills data.token shortly after creation.
  const token = await waitFor(
    `the token controller to fill Secret ${namespace}/${name} (without one, pass tokenExpirationSeconds)`,
    async () => {
      const encoded = (await readSecret(core, { namespace, name }))?.data?.token;
      return encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
    },
  );
  const previous = existing.map((s) => s.metadata!.name!).filter((n) => n !== name);
  log(
    `${reuse ? 'reused' : 'created'} Secret ${namespace}/${name}: a token that does not expire; revoke it with kubectl -n ${namespace} delete secret ${name}`,
  );
  if (previous.length > 0)
    log(
      `older tokens stay valid until deleted; once the vault holds the new kubeconfig: kubectl -n ${namespace} delete secret ${previous.join(' ')}`,
    );
  return { token, secret: `${namespace}/${name}`, previous };
}

/** The `exp` of the JWT in a kubeconfig made by kubeconfigDocument, as an ISO time. */
function tokenExpiry(kubeconfig: string): string | undefined {
  const doc = JSON.parse(kubeconfig) as { users?: { user?: { token?: string } }[] };
  const payload = doc.users?.[0]?.user?.token?.split('.')[1];
  if (payload === undefined) return undefined;
  const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number };
  return exp === undefined ? undefined : new Date(exp * 1000).toISOString();
}

function relaySecretObject(webhookUrl: string, webhookSecret: string): V1Secret & KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...relaySecret, labels: { 'app.kubernetes.io/part-of': 'funclet' } },
    type: 'Opaque',
    stringData: { [RelaySetting.webhookUrl]: webhookUrl, [RelaySetting.webhookSecret]: webhookSecret },
  };
}

/**
 * The Deployment of infra/k8s/relay-deployment.yaml with the image and nodes set, and a hash of
 * the webhook settings in the pod template: env from a Secret is read at container start only,
 * so a changed URL or secret must roll the pod.
 */
export function relayDeploymentFor(
  manifest: V1Deployment,
  relay: { webhookUrl: string; webhookSecret: string; nodes: string[]; image: string },
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
  const digest = createHash('sha256').update(`${relay.webhookUrl}\n${relay.webhookSecret}`).digest('hex');
  template.metadata = {
    ...template.metadata,
    annotations: { ...template.metadata?.annotations, 'funclet.io/relay-secret-sha256': digest },
  };
  return deployment;
}

/**
 * Defence in depth: the kubeconfig is built from the server, the CA and the new token only, and
 * this checks that none of the admin user's secrets slipped in.
 */
function assertNoAdminCredentials(kubeconfig: string, admin: KubeConfig): void {
  const user = admin.getCurrentUser();
  const secrets = [user?.token, user?.keyData, user?.certData, user?.password].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  if (secrets.some((s) => kubeconfig.includes(s)))
    throw new Error('refusing to output a kubeconfig that holds the admin credentials');
}

async function readSecret(
  core: CoreV1Api,
  at: { namespace: string; name: string },
): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret(at);
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function describe(o: KubernetesObject): string {
  return `${o.kind ?? '?'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;
}
