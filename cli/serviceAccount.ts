import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeconfigDocument } from '../core/kube/kubeconfig.ts';
import { applyManifests, readManifests } from './manifests.ts';

export const functionServiceAccount = { namespace: 'funclet-system', name: 'funclet' } as const;

/**
 * Installs infra/k8s with an admin kubeconfig, then mints a token for the funclet
 * ServiceAccount through the TokenRequest API and returns a kubeconfig holding only that
 * token: server, CA and token, nothing of the admin's credentials.
 */
export async function functionServiceAccountKubeconfig(
  admin: KubeConfig,
  options: { expirationSeconds: number },
): Promise<string> {
  await applyManifests(admin, readManifests());
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const caPem = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster.caFile
      ? (await import('node:fs')).readFileSync(cluster.caFile, 'utf8')
      : '';
  const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    ...functionServiceAccount,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds } },
  });
  const token = request.status?.token;
  if (!token)
    throw new Error(
      `TokenRequest for ${functionServiceAccount.namespace}/${functionServiceAccount.name} returned no token`,
    );
  return kubeconfigDocument({ server: cluster.server, caPem, user: functionServiceAccount.name, token });
}
