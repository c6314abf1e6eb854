import { readFileSync } from 'node:fs';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeconfigDocument } from '../core/kube/kubeconfig.ts';

/** The ServiceAccount fallback's identity (cli/identity.ts). */
export const functionServiceAccount = { namespace: 'funclet-system', name: 'funclet' } as const;
export const relayServiceAccount = { namespace: 'funclet-system', name: 'funclet-relay' } as const;

/** A kubeconfig holding a fresh TokenRequest token of one ServiceAccount (infra/k8s applied already). */
export async function serviceAccountKubeconfig(
  admin: KubeConfig,
  account: { namespace: string; name: string },
  options: { expirationSeconds: number },
): Promise<string> {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const caPem = caPemOf(cluster);
  const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    ...account,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${account.namespace}/${account.name} returned no token`);
  return kubeconfigDocument({ server: cluster.server, caPem, user: account.name, token });
}

/** The certificate authority a kubeconfig's cluster names (inline or as a file); an error without one. */
export function caPemOf(cluster: { name: string; caData?: string; caFile?: string }): string {
  if (cluster.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster.caFile) return readFileSync(cluster.caFile, 'utf8');
  throw new Error(
    `cluster ${cluster.name} of the admin kubeconfig names no certificate authority; the functions need one to trust the API server`,
  );
}
