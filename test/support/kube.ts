import { readFileSync } from 'node:fs';
import { KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import { nodeIdentityKubeconfig } from '../../cli/identity.ts';
import { withConnectionReuse } from '../../core/kube/kubeconfig.ts';
import { testEnv } from './env.ts';
import { waitFor } from './process.ts';

export function kubeConfigFrom(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return withConnectionReuse(kc);
}

/** The run's control plane as its administrator: for test setup, never for the code under test. */
export function testAdmin(): KubeConfig {
  return kubeConfigFrom(readFileSync(testEnv().cluster.adminKubeconfigPath, 'utf8'));
}

/**
 * The kubeconfig function code runs with in every test: what `funclet attach` gives an operator,
 * a `system:node:<name>` client certificate per virtual node from the CSR API, so the Node
 * authorizer and NodeRestriction confine each node as a kubelet, and a missing permission fails
 * the test. Leaves the other credential's objects alone: test files share the cluster.
 */
export async function functionKubeconfig(
  admin: KubeConfig,
  nodes: readonly string[],
  options: { expirationSeconds?: number } = {},
): Promise<string> {
  const { kubeconfig } = await nodeIdentityKubeconfig(admin, nodes, { ...options, revokeOthers: false });
  return kubeconfig;
}

/** A new namespace that admits pods: it exists and its default ServiceAccount does too. */
export async function createPodNamespace(core: CoreV1Api, namespace: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitForDefaultServiceAccount(core, namespace);
}

/** Pods cannot be admitted into a new namespace before its default ServiceAccount exists. */
async function waitForDefaultServiceAccount(core: CoreV1Api, namespace: string): Promise<void> {
  await waitFor(
    `the default ServiceAccount of namespace ${namespace}`,
    async () =>
      (await core.listNamespacedServiceAccount({ namespace })).items.some(
        (s) => s.metadata?.name === 'default',
      ),
    { timeoutMs: 30_000 },
  );
}
