import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { localWebhookSecret, startEventPath } from '../../cli/eventPath.ts';
import type { HttpFunction } from '../../cli/httpHost.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import type { ProviderOverrides } from '../../core/providers/index.ts';
import { startMockExecServer, type MockExecServer } from '../../core/providers/mock/execServer.ts';
import { MockProvider } from '../../core/providers/mock/provider.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { freshRuntimes, functionSettings } from './functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from './kube.ts';
import { uniqueName } from './env.ts';
import { keepNodeReady } from './virtualNode.ts';

export interface EventPathFixture {
  admin: KubeConfig;
  core: CoreV1Api;
  node: string;
  namespace: string;
  runtimes: () => Runtime;
  mock: MockProvider;
  /** The node's kubelet endpoint port on the kubelet address (127.0.0.1 unless given). */
  kubeletPort: number;
  /** exec and attach sessions the relay serves now. */
  kubeletSessions(): number;
  /** The mock's exec server (FUNCLET_MOCK_EXEC_URL), which mock nodes' `kubectl exec` reaches. */
  mockExec: MockExecServer;
  stop(): Promise<void>;
}

/**
 * A mock virtual node served by the event path alone: its lease kept, podEvents on loopback and
 * the relay poking it, no resync timer; plus a namespace of the test's own.
 */
export async function eventPathFixture(
  prefix: string,
  options: {
    startDelayMs: number;
    wrap?: (handler: HttpFunction) => HttpFunction;
    wrapKubeletApi?: (handler: HttpFunction) => HttpFunction;
    kubelet?: { address: string; listenAddress?: string; firstPort?: number; maxSessions?: number };
    extra?: Record<string, string>;
    /** The node's provider: the mock unless given (its settings and test credentials). */
    provider?: { name: ProviderName; settings: Record<string, string>; overrides: ProviderOverrides };
  },
): Promise<EventPathFixture> {
  const admin = testAdmin();
  const core = admin.makeApiClient(CoreV1Api);
  const node = uniqueName(`vk-${prefix}`);
  const namespace = uniqueName(prefix);
  await createPodNamespace(core, namespace);
  const secret = localWebhookSecret();
  const mockExec = await startMockExecServer({ table: () => runtimes().tables.table('mockInstances') });
  const runtimes = freshRuntimes(
    functionSettings({
      kubeconfig: await functionKubeconfig(admin, [node]),
      tablePrefix: `${prefix.replace(/[^a-z]/g, '')}${Math.random().toString(36).slice(2, 8)}`,
      nodes: [{ name: node, provider: options.provider?.name ?? 'mock' }],
      extra: {
        [Setting.webhookSecret]: secret,
        [Setting.mockStartDelayMs]: String(options.startDelayMs),
        [Setting.mockExecUrl]: mockExec.url,
        ...options.provider?.settings,
        ...options.extra,
      },
    }),
    undefined,
    options.provider?.overrides,
  );
  const lease = await keepNodeReady(runtimes);
  const mock = new MockProvider({
    table: await runtimes().tables.table('mockInstances'),
    startDelayMs: options.startDelayMs,
    now: Date.now,
  });
  const events = await startEventPath({
    admin,
    runtimes,
    nodes: [node],
    secret,
    out: () => undefined,
    logger: createLogger({}, { minLevel: process.env.FUNCLET_TEST_RELAY_LOG === '1' ? 'info' : 'error' }),
    wrap: options.wrap,
    wrapKubeletApi: options.wrapKubeletApi,
    kubelet: options.kubelet,
  });
  return {
    admin,
    core,
    node,
    namespace,
    runtimes,
    mock,
    kubeletPort: events.kubeletPorts.get(node) ?? 0,
    kubeletSessions: () => events.kubeletSessions(),
    mockExec,
    async stop() {
      await events.stop();
      await mockExec.close();
      await lease.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
    },
  };
}
