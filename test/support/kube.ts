import { KubeConfig } from '@kubernetes/client-node';
import { runAttach } from '../../cli/attach.ts';
import { withConnectionReuse } from '../../core/kube/kubeconfig.ts';

export function kubeConfigFrom(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return withConnectionReuse(kc);
}

/**
 * The kubeconfig function code runs with in every test: what `funclet attach` gives an operator
 * (a token of the funclet ServiceAccount, bound to the ClusterRole in infra/k8s), so a missing
 * permission fails the test. Expiring tokens keep the test cluster free of token Secrets.
 */
export async function functionKubeconfig(admin: KubeConfig): Promise<string> {
  const result = await runAttach({
    adminKubeconfigText: admin.exportConfig(),
    tokenExpirationSeconds: 24 * 3600,
    out: () => undefined,
  });
  return result.kubeconfig;
}
