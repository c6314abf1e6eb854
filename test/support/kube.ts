import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubeconfig, type ClusterInfo } from '../cluster/cluster.ts';
import { applyManifests, readManifests } from './manifests.ts';

export function kubeConfigFrom(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}

/**
 * Applies infra/k8s (namespace, ServiceAccount, ClusterRole and bindings) and returns a
 * kubeconfig holding a token of the funclet ServiceAccount: the identity function code runs
 * with in every test, so a missing permission fails the test.
 */
export async function functionKubeconfig(cluster: ClusterInfo, admin: KubeConfig): Promise<string> {
  await applyManifests(admin, readManifests());
  const core = admin.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: 'funclet',
    namespace: 'funclet-system',
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error('TokenRequest for funclet-system/funclet returned no token');
  return kubeconfig({ server: cluster.server, caPem: cluster.caPem, user: 'funclet', token });
}
