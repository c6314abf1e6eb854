/**
 * Renewing a virtual node's credential before it expires, as a kubelet rotates its client
 * certificate: past 70% of its lifetime the node makes a new key, asks for a certificate with a
 * CSR of its own (which the csrapproving controller approves as "selfnodeclient" for the nodes
 * infra/k8s/node-identity.yaml names, and the signer issues), and the kubeconfig with the new
 * certificate is written back to the store FUNCLET_KUBECONFIG comes from. The ServiceAccount
 * fallback's token is renewed the same way, through a TokenRequest for its own ServiceAccount.
 * The old credential stays valid until it expires, so instances that still hold it keep
 * working until they read the new one.
 */
import { X509Certificate } from 'node:crypto';
import { loadYaml } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/clients.ts';
import { FuncletError } from '../errors.ts';
import { kubeError } from '../kube/errors.ts';
import { nodeCertificateOf, withNodeCredential } from '../kube/kubeconfig.ts';
import type { KubeconfigStore } from '../kube/kubeconfigStore.ts';
import { Setting } from '../config.ts';
import type { Logger } from '../log.ts';

/** A credential is renewed once this share of its lifetime has passed (the kubelet: 70-90%). */
export const renewAfterFraction = 0.7;
/** The shortest lifetime asked for: the API server's minimum for both CSRs and tokens. */
const minimumLifetimeSeconds = 600;

export interface RenewalDeps {
  /** The node's clients, with the credential it holds now. */
  kube: KubeClients;
  /** Where FUNCLET_KUBECONFIG is kept; renewal needs it to last beyond this instance. */
  store: KubeconfigStore | undefined;
  /** The kubeconfig this instance uses now. */
  current: string;
  /** Makes this instance use another kubeconfig (a newer one from the store, or the renewed one). */
  use: (kubeconfig: string) => void;
  now: () => number;
  logger: Logger;
}

export interface Renewal {
  credential: 'certificate' | 'token';
  renewed: boolean;
  /** When the credential in use after this call expires, epoch ms. */
  expiresAtMs: number;
}

/** The credential the node's context holds, and its validity. */
function credentialOf(
  kubeconfig: string,
  node: string,
): { credential: Renewal['credential']; fromMs: number; toMs: number; token?: string } | undefined {
  const certificate = nodeCertificateOf(kubeconfig, node);
  if (certificate) {
    const { notBeforeMs, notAfterMs } = certificateValidityOf(certificate.certPem);
    return { credential: 'certificate', fromMs: notBeforeMs, toMs: notAfterMs };
  }
  const token = tokenOf(kubeconfig);
  if (token === undefined) return undefined;
  const claims = tokenClaims(token);
  if (claims?.exp === undefined || claims.iat === undefined) return undefined;
  return { credential: 'token', fromMs: claims.iat * 1000, toMs: claims.exp * 1000, token };
}

export async function renewNodeCredential(deps: RenewalDeps, node: string): Promise<Renewal | undefined> {
  // The store has the newest kubeconfig (another instance may have renewed already).
  const latest = deps.store ? await deps.store.read() : deps.current;
  const held = credentialOf(latest, node);
  if (!held) return undefined; // nothing that expires: a token without exp, a static credential
  if (latest !== deps.current) deps.use(latest);
  const dueAtMs = held.fromMs + renewAfterFraction * (held.toMs - held.fromMs);
  if (deps.now() < dueAtMs) return { credential: held.credential, renewed: false, expiresAtMs: held.toMs };
  if (!deps.store)
    throw new FuncletError(
      `the ${held.credential} of node ${node} expires at ${new Date(held.toMs).toISOString()} and cannot be renewed: ${Setting.kubeconfigSecretUri} does not say where ${Setting.kubeconfig} is kept`,
    );
  const lifetimeSeconds = Math.max(minimumLifetimeSeconds, Math.round((held.toMs - held.fromMs) / 1000));
  let renewed: string;
  let expiresAtMs: number;
  if (held.credential === 'certificate') {
    const { issueNodeCertificate } = await import('../kube/nodeCertificate.ts');
    const issued = await issueNodeCertificate(deps.kube.certificates, node, {
      expirationSeconds: lifetimeSeconds,
    });
    renewed = withNodeCredential(latest, node, issued);
    expiresAtMs = certificateValidityOf(issued.certPem).notAfterMs;
    deps.logger.info('node client certificate renewed', {
      certificateSigningRequest: issued.requestName,
      expiresAt: new Date(expiresAtMs).toISOString(),
    });
  } else {
    const token = await renewedToken(deps.kube, held.token!, lifetimeSeconds);
    renewed = withToken(latest, token);
    expiresAtMs = (tokenClaims(token)?.exp ?? 0) * 1000;
    deps.logger.info('ServiceAccount token renewed', { expiresAt: new Date(expiresAtMs).toISOString() });
  }
  await deps.store.write(renewed);
  deps.use(renewed);
  return { credential: held.credential, renewed: true, expiresAtMs };
}

/** A new token for the ServiceAccount the current one belongs to, asked for with the current one. */
async function renewedToken(kube: KubeClients, token: string, seconds: number): Promise<string> {
  const subject = tokenClaims(token)?.sub ?? '';
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
  if (!match)
    throw new FuncletError('the kubeconfig token is not a ServiceAccount token; it cannot be renewed');
  const [, namespace, name] = match as unknown as [string, string, string];
  try {
    const answer = await kube.core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { spec: { audiences: [], expirationSeconds: seconds } },
    });
    const next = answer.status?.token;
    if (!next) throw new FuncletError(`the TokenRequest for ${namespace}/${name} returned no token`);
    return next;
  } catch (err) {
    throw kubeError(err, `renew the token of ServiceAccount ${namespace}/${name}`);
  }
}

interface KubeconfigUsers {
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { user: string } }[];
  'current-context'?: string;
}

function tokenOf(kubeconfig: string): string | undefined {
  const doc = loadYaml<KubeconfigUsers>(kubeconfig);
  const userName = doc.contexts?.find((c) => c.name === doc['current-context'])?.context.user;
  const token = doc.users?.find((u) => u.name === userName)?.user.token;
  return typeof token === 'string' ? token : undefined;
}

function withToken(kubeconfig: string, token: string): string {
  const doc = loadYaml<KubeconfigUsers>(kubeconfig);
  const userName = doc.contexts?.find((c) => c.name === doc['current-context'])?.context.user;
  const user = doc.users?.find((u) => u.name === userName);
  if (!user) throw new FuncletError('the kubeconfig has no current user');
  user.user = { token };
  return JSON.stringify(doc, null, 2) + '\n';
}

function tokenClaims(token: string): { exp?: number; iat?: number; sub?: string } | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      exp?: number;
      iat?: number;
      sub?: string;
    };
  } catch {
    return undefined;
  }
}

function certificateValidityOf(certPem: string): { notBeforeMs: number; notAfterMs: number } {
  // node:crypto's parser, so that the X.509 generator's code loads only when a renewal is due.
  const cert = new X509Certificate(certPem);
  return { notBeforeMs: Date.parse(cert.validFrom), notAfterMs: Date.parse(cert.validTo) };
}
