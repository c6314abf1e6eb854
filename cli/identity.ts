/**
 * The functions' credential, made with the operator's admin kubeconfig:
 * - node identity (the default): per virtual node a key made here, a CSR for system:node:<name>
 *   with the signer kubernetes.io/kube-apiserver-client-kubelet, approved with the admin's
 *   rights, and the issued certificate; the kubeconfig has a user and a context per node. The
 *   nodes renew their certificates themselves (core/node/certificateRenewal.ts).
 * - the ServiceAccount fallback: an expiring TokenRequest token of funclet-system/funclet, under
 *   the RBAC of infra/k8s/clusterrole.yaml with the node names filled in; the functions renew it
 *   themselves too.
 * Each installs the infra/k8s objects of its kind and removes those of the other, so switching
 * revokes what the previous credential was granted.
 */
import {
  CertificatesV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1ClusterRole,
  type V1CertificateSigningRequest,
  type V1ClusterRoleBinding,
  type V1Role,
} from '@kubernetes/client-node';
import { mergePatch } from '../core/kube/clients.ts';
import { nodeKubeconfigDocument } from '../core/kube/kubeconfig.ts';
import { apiStatus, kubeError } from '../core/kube/errors.ts';
import { certificateValidity, issueNodeCertificate } from '../core/kube/nodeCertificate.ts';
import { nodeUser, type NodeCredential } from '../core/kube/nodeUser.ts';
import { applyManifests, readManifests } from './manifests.ts';
import { caPemOf, functionServiceAccount, serviceAccountKubeconfig } from './serviceAccount.ts';

export type CredentialKind = 'node' | 'service-account';

/** The label on the infra/k8s objects that belong to one kind of credential. */
export const credentialLabel = 'funclet.io/credential';
/** Where infra/k8s leaves the virtual node names for attach to fill in. */
export const virtualNodesPlaceholder = 'VIRTUAL_NODES';

/** The Secrets of the non-expiring tokens earlier versions handed out: removed by every attach. */
const legacyTokenSecrets = {
  namespace: functionServiceAccount.namespace,
  labelSelector: 'funclet.io/credential=functions',
};

/**
 * The infra/k8s objects for a credential kind, with the node names filled in: the common ones
 * (namespace, relay) and those labelled with the kind; `others` are those of the other kind.
 */
export function credentialManifests(
  kind: CredentialKind,
  nodes: readonly string[],
): { apply: KubernetesObject[]; others: KubernetesObject[] } {
  const all = readManifests();
  const kindOf = (o: KubernetesObject) => o.metadata?.labels?.[credentialLabel];
  return {
    apply: all.filter((o) => kindOf(o) === undefined || kindOf(o) === kind).map((o) => withNodes(o, nodes)),
    others: all.filter((o) => kindOf(o) !== undefined && kindOf(o) !== kind),
  };
}

/** Fills VIRTUAL_NODES in resourceNames (one entry per node) and in subjects (one subject per node). */
export function withNodes(object: KubernetesObject, nodes: readonly string[]): KubernetesObject {
  const filled = structuredClone(object) as KubernetesObject & V1ClusterRole & V1Role & V1ClusterRoleBinding;
  for (const rule of filled.rules ?? []) {
    if (rule.resourceNames?.includes(virtualNodesPlaceholder))
      rule.resourceNames = [...rule.resourceNames.filter((n) => n !== virtualNodesPlaceholder), ...nodes];
  }
  if (filled.subjects?.some((s) => s.name.includes(virtualNodesPlaceholder))) {
    filled.subjects = filled.subjects.flatMap((s) =>
      s.name.includes(virtualNodesPlaceholder)
        ? nodes.map((n) => ({ ...s, name: s.name.replace(virtualNodesPlaceholder, n) }))
        : [s],
    );
  }
  return filled;
}

export interface NodeIdentityOptions {
  /** Asked of the signer for each certificate; the signer's default (a year, usually) otherwise. */
  expirationSeconds?: number;
  /**
   * Remove the other credential's objects and the tokens of earlier versions (the default):
   * switching credential revokes the previous one. Tests sharing a cluster keep them.
   */
  revokeOthers?: boolean;
  log?: (line: string) => void;
}

/**
 * Installs the node identity's objects and issues each node's first certificate. The keys are
 * made here and returned only inside the kubeconfig: the caller stores it and prints none of it.
 */
export async function nodeIdentityKubeconfig(
  admin: KubeConfig,
  nodes: readonly string[],
  options: NodeIdentityOptions = {},
): Promise<{ kubeconfig: string; expiresAt: Record<string, string> }> {
  if (nodes.length === 0) throw new Error('node identity needs the virtual node names');
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const caPem = caPemOf(cluster);
  await installCredentialObjects(admin, 'node', nodes, options.revokeOthers ?? true);
  const certificates = admin.makeApiClient(CertificatesV1Api);
  const credentials = new Map<string, NodeCredential>();
  const expiresAt: Record<string, string> = {};
  // One at a time: a cluster's signer and approval are quick, and errors then name one node.
  for (const node of nodes) {
    const issued = await issueNodeCertificate(certificates, node, {
      approve: (request) => approveAsAdmin(certificates, request),
      expirationSeconds: options.expirationSeconds,
    });
    credentials.set(node, { certPem: issued.certPem, keyPem: issued.keyPem });
    expiresAt[node] = new Date(certificateValidity(issued.certPem).notAfterMs).toISOString();
    options.log?.(
      `issued ${nodeUser(node)} a client certificate (CSR ${issued.requestName}) valid until ${expiresAt[node]}`,
    );
  }
  return { kubeconfig: nodeKubeconfigDocument({ server: cluster.server, caPem, credentials }), expiresAt };
}

/**
 * The weaker fallback: installs the ServiceAccount's RBAC (names filled in) and mints an
 * expiring token for it. The API server may shorten the lifetime asked for.
 */
export async function serviceAccountFallbackKubeconfig(
  admin: KubeConfig,
  nodes: readonly string[],
  options: { expirationSeconds: number; revokeOthers?: boolean },
): Promise<{ kubeconfig: string; expiresAt: string | undefined }> {
  if (nodes.length === 0) throw new Error('the ServiceAccount fallback needs the virtual node names');
  await installCredentialObjects(admin, 'service-account', nodes, options.revokeOthers ?? true);
  const kubeconfig = await serviceAccountKubeconfig(admin, functionServiceAccount, options);
  return { kubeconfig, expiresAt: tokenExpiry(kubeconfig) };
}

/**
 * Applies the kind's objects, keeping the nodes earlier attaches named (node names are added, so
 * that attaching one node does not cut another off; a node removed for good is taken out of
 * infra/k8s's objects by hand), and removes the other kind's objects when asked.
 */
async function installCredentialObjects(
  admin: KubeConfig,
  kind: CredentialKind,
  nodes: readonly string[],
  revokeOthers: boolean,
): Promise<void> {
  const { apply, others } = credentialManifests(kind, nodes);
  const api = KubernetesObjectApi.makeApiClient(admin);
  const merged: KubernetesObject[] = [];
  for (const object of apply) {
    const named = object.metadata?.labels?.[credentialLabel] !== undefined;
    let existing: KubernetesObject | undefined;
    if (named) {
      try {
        existing = await api.read(object as Parameters<typeof api.read>[0]);
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
      }
    }
    merged.push(existing ? withEarlierNodes(object, existing) : object);
  }
  await applyManifests(admin, merged);
  if (revokeOthers) {
    await removeObjects(admin, others);
    await removeLegacyTokens(admin);
  }
}

/** `object` with the node names and node subjects `existing` has besides its own. */
function withEarlierNodes(object: KubernetesObject, existing: KubernetesObject): KubernetesObject {
  const next = structuredClone(object) as KubernetesObject & V1ClusterRole & V1ClusterRoleBinding;
  const had = existing as KubernetesObject & V1ClusterRole & V1ClusterRoleBinding;
  next.rules?.forEach((rule, i) => {
    const before = had.rules?.[i]?.resourceNames;
    if (rule.resourceNames && before) rule.resourceNames = [...new Set([...before, ...rule.resourceNames])];
  });
  if (next.subjects && had.subjects) {
    const key = (s: { kind: string; name: string }) => `${s.kind}/${s.name}`;
    const seen = new Set(next.subjects.map(key));
    next.subjects = [...next.subjects, ...had.subjects.filter((s) => !seen.has(key(s)))];
  }
  return next;
}

async function removeObjects(admin: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(admin);
  for (const object of objects) {
    try {
      await api.delete(object);
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
  }
}

async function removeLegacyTokens(admin: KubeConfig): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  const listed = await core.listNamespacedSecret(legacyTokenSecrets);
  for (const s of listed.items) {
    await core
      .deleteNamespacedSecret({ namespace: legacyTokenSecrets.namespace, name: s.metadata!.name! })
      .catch((err: unknown) => {
        if (apiStatus(err) !== 404) throw err;
      });
  }
}

/**
 * Whether the cluster runs NodeRestriction, asked the only way that shows it: a dry-run patch of
 * another node's labels with the first virtual node's credential (admission runs on a dry run;
 * nothing changes). Without NodeRestriction the Node authorizer still confines what a node may
 * read, but not which Node, Lease or pod status it may write.
 */
export async function nodeRestriction(
  admin: KubeConfig,
  kubeconfig: string,
  node: string,
): Promise<'enforced' | 'not enforced' | 'unknown'> {
  const others = (await admin.makeApiClient(CoreV1Api).listNode()).items
    .map((n) => n.metadata?.name ?? '')
    .filter((n) => n !== '' && n !== node);
  const other = others[0];
  if (other === undefined) return 'unknown';
  const asNode = new KubeConfig();
  asNode.loadFromString(kubeconfig);
  asNode.setCurrentContext(node);
  try {
    await asNode
      .makeApiClient(CoreV1Api)
      .patchNode(
        { name: other, dryRun: 'All', body: { metadata: { labels: { 'funclet.io/probe': 'dry-run' } } } },
        mergePatch,
      );
    return 'not enforced';
  } catch (err) {
    return apiStatus(err) === 403 ? 'enforced' : 'unknown';
  }
}

/** The `exp` of the JWT in a token kubeconfig, as an ISO time. */
export function tokenExpiry(kubeconfig: string): string | undefined {
  const doc = JSON.parse(kubeconfig) as { users?: { user?: { token?: string } }[] };
  const payload = doc.users?.[0]?.user?.token?.split('.')[1];
  if (payload === undefined) return undefined;
  const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number };
  return exp === undefined ? undefined : new Date(exp * 1000).toISOString();
}

/**
 * The approval the admin gives at attach: an Approved condition on the request, written over the
 * request as it is now (controllers may have touched it since it was created).
 */
export async function approveAsAdmin(
  certificates: CertificatesV1Api,
  request: V1CertificateSigningRequest,
): Promise<void> {
  const name = request.metadata!.name!;
  for (let attempt = 1; ; attempt++) {
    try {
      const current = await certificates.readCertificateSigningRequest({ name });
      // csrapproving approves it itself when the requester may create nodeclient requests.
      if (current.status?.conditions?.some((c) => c.type === 'Approved') === true) return;
      await certificates.replaceCertificateSigningRequestApproval({
        name,
        body: {
          ...current,
          status: {
            ...current.status,
            conditions: [
              ...(current.status?.conditions ?? []),
              {
                type: 'Approved',
                status: 'True',
                reason: 'FuncletAttach',
                message: 'approved by funclet attach for the virtual node it registers',
              },
            ],
          },
        },
      });
      return;
    } catch (err) {
      if (apiStatus(err) === 409 && attempt < 5) continue;
      throw kubeError(err, `approve CertificateSigningRequest ${name}`);
    }
  }
}
