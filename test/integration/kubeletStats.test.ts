/**
 * The node's kubelet endpoint as the API server's node proxy and metrics-server reach it. The
 * API server refuses loopback node addresses for node proxy requests, so the node's address
 * is a test host of its own: a network namespace whose address forwards to the relay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aciUnderTest } from '../e2e/providers.ts';
import { eventPathFixture, type EventPathFixture } from '../support/eventPathFixture.ts';
import { kubectl } from '../support/kubectl.ts';
import { createNetnsHost, type NetnsHost } from '../support/netns.ts';
import { waitFor } from '../support/process.ts';
import { onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

const kubeletPort = 10250;

for (const providerName of ['mock', 'aci'] as const) {
  describe(`node proxy and kubectl top on a ${providerName} virtual node`, () => {
    let f: EventPathFixture;
    let host: NetnsHost;
    let stopBackend = (): Promise<void> => Promise.resolve();

    before(async () => {
      const backend = providerName === 'aci' ? await aciUnderTest() : undefined;
      if (backend) stopBackend = () => backend.stop();
      host = await createNetnsHost({
        port: kubeletPort,
        listen: async (listenAddress) => {
          f = await eventPathFixture(`top-${providerName}`, {
            startDelayMs: 300,
            provider: backend,
            // The relay listens on the veth's root side; the node posts the namespace's address,
            // where the forwarder takes the same port.
            kubelet: { address: nextAddress(listenAddress), listenAddress, firstPort: kubeletPort },
          });
          return kubeletPort;
        },
      });
      await waitFor(
        'the node to post the test host as its InternalIP',
        async () =>
          (await f.core.readNode({ name: f.node })).status?.addresses?.some(
            (a) => a.address === host.address,
          ) === true,
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const script: { annotations: Record<string, string>; env: { name: string; value: string }[] } =
        providerName === 'mock'
          ? { annotations: { 'funclet.io/mock-cpu': '250m', 'funclet.io/mock-memory': '64Mi' }, env: [] }
          : {
              annotations: {},
              env: [
                { name: 'FAKE_ACI_CPU_MILLICORES', value: '250' },
                { name: 'FAKE_ACI_MEMORY_BYTES', value: String(64 * 1024 * 1024) },
              ],
            };
      await f.core.createNamespacedPod({
        namespace: f.namespace,
        body: {
          metadata: { name: 'busy', annotations: script.annotations },
          spec: {
            ...onVirtualNode(f.node),
            containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], env: script.env }],
          },
        },
      });
      await resyncUntil(
        f.runtimes,
        'the pod Running',
        async () =>
          (await f.core.readNamespacedPod({ name: 'busy', namespace: f.namespace })).status?.phase ===
          'Running',
        { passes: 60, pauseMs: 250 },
      );
    });

    after(async () => {
      await f?.stop();
      await host?.remove();
      await stopBackend();
    });

    it('answers /pods through the API server node proxy with the node pods', async () => {
      const result = await kubectl(['get', '--raw', `/api/v1/nodes/${f.node}/proxy/pods`]);
      assert.equal(result.code, 0, result.stderr);
      const list = JSON.parse(result.stdout) as { kind: string; items: { metadata: { name: string } }[] };
      assert.equal(list.kind, 'PodList');
      assert.deepEqual(
        list.items.map((p) => p.metadata.name),
        ['busy'],
      );
    });

    it('answers /stats/summary through the node proxy with the pod CPU and memory', async () => {
      const summary = await eventually(
        'a stats summary with the pod',
        async () => {
          const result = await kubectl(['get', '--raw', `/api/v1/nodes/${f.node}/proxy/stats/summary`]);
          if (result.code !== 0) throw new Error(result.stderr);
          const parsed = JSON.parse(result.stdout) as StatsSummary;
          return parsed.pods.length > 0 ? parsed : undefined;
        },
        { timeoutMs: 150_000, intervalMs: 2000 },
      );
      assert.equal(summary.node.nodeName, f.node);
      const pod = summary.pods[0]!;
      assert.equal(pod.podRef.name, 'busy');
      const container = pod.containers.find((c) => c.name === 'app')!;
      assert.equal(container.memory.workingSetBytes, 64 * 1024 * 1024);
      assert.ok(
        Math.abs(container.cpu.usageNanoCores - 250_000_000) < 1_000_000,
        `${container.cpu.usageNanoCores} nanocores`,
      );
      assert.ok(container.cpu.usageCoreNanoSeconds > 0);
      assert.equal(summary.node.memory.workingSetBytes, 64 * 1024 * 1024, 'the node sums its pods');
    });

    it('shows the pod and the node in kubectl top', async () => {
      const top = await eventually(
        'kubectl top pod to show the pod',
        async () => {
          const result = await kubectl(['top', 'pod', '-n', f.namespace, '--no-headers']);
          return result.code === 0 && result.stdout.includes('busy') ? result.stdout : undefined;
        },
        { timeoutMs: 240_000, intervalMs: 3000 },
      );
      const [name, cpu, memory] = top.trim().split(/\s+/);
      assert.equal(name, 'busy');
      assert.equal(memory, '64Mi');
      assert.ok(Math.abs(Number(cpu!.replace(/m$/, '')) - 250) <= 5, `about 250m, got ${cpu}`);

      const nodeTop = await eventually(
        'kubectl top node to show the node',
        async () => {
          const result = await kubectl(['top', 'node', f.node, '--no-headers']);
          return result.code === 0 ? result.stdout : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 3000 },
      );
      const [nodeName, nodeCpu, , nodeMemory] = nodeTop.trim().split(/\s+/);
      assert.equal(nodeName, f.node);
      assert.equal(nodeMemory, '64Mi');
      assert.ok(Math.abs(Number(nodeCpu!.replace(/m$/, '')) - 250) <= 5, `about 250m, got ${nodeCpu}`);
    });
  });
}

interface StatsSummary {
  node: { nodeName: string; memory: { workingSetBytes: number } };
  pods: {
    podRef: { name: string };
    containers: {
      name: string;
      cpu: { usageNanoCores: number; usageCoreNanoSeconds: number };
      memory: { workingSetBytes: number };
    }[];
  }[];
}

/** The first value `get` returns before the deadline. */
async function eventually<T>(
  what: string,
  get: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs: number },
): Promise<T> {
  let value: T | undefined;
  await waitFor(
    what,
    async () => {
      value = await get();
      return value !== undefined;
    },
    options,
  );
  return value!;
}

/** The namespace side of the host's /30: the address after the root side's. */
function nextAddress(ip: string): string {
  const parts = ip.split('.').map(Number);
  parts[3] = parts[3]! + 1;
  return parts.join('.');
}
