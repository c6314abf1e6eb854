import { KubeConfig } from '@kubernetes/client-node';
import { functionServiceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import { withConnectionReuse } from '../../core/kube/kubeconfig.ts';

export function kubeConfigFrom(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return withConnectionReuse(kc);
}

/**
 * A kubeconfig holding a token of the funclet ServiceAccount, bound to the ClusterRole in
 * infra/k8s: the identity function code runs with in every test, so a missing permission
 * fails the test.
 */
export function functionKubeconfig(admin: KubeConfig): Promise<string> {
  return functionServiceAccountKubeconfig(admin, { expirationSeconds: 24 * 3600 });
}
