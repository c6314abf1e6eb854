/**
 * `funclet local` against a cluster and a provider the user names: the run's own control plane
 * stands in for the user's cluster (--kubeconfig), the ARM fake for ACI and moto for ECS. It
 * prints its plan before it creates anything, registers the node there, and a pod scheduled to
 * the node runs in the provider. With no --kubeconfig it starts its own control plane and leaves
 * the cluster $KUBECONFIG names alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { CoreV1Api } from '@kubernetes/client-node';
import { runLocal } from '../../cli/local.ts';
import { Setting } from '../../core/config.ts';
import { aciUnderTest, providerUnderTest } from '../e2e/providers.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { createPodNamespace, testAdmin } from '../support/kube.ts';
import { waitFor } from '../support/process.ts';

const funclet = fileURLToPath(new URL('../../cli/funclet.ts', import.meta.url));

interface Logged {
  message?: string;
}
const messages = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      return [(JSON.parse(l) as Logged).message ?? ''];
    } catch {
      return [];
    }
  });

describe('funclet local with --kubeconfig and --provider', { timeout: 600_000 }, () => {
  const admin = testAdmin();
  const core = admin.makeApiClient(CoreV1Api);
  const namespace = uniqueName('local');
  const nodes: string[] = [];

  before(() => createPodNamespace(core, namespace));
  after(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);
  });

  async function podOn(node: string, name: string): Promise<void> {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': node },
          tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'web', image: 'nginx:1.27' }],
        },
      },
    });
  }

  it('on ACI: plans first, registers the node in the named cluster, and runs its pod as a container group', async () => {
    const aci = await aciUnderTest();
    const node = uniqueName('local-aci');
    nodes.push(node);
    const lines: string[] = [];
    const stop = await runLocal({
      nodeName: node,
      kubeconfigPath: testEnv().cluster.adminKubeconfigPath,
      provider: 'aci',
      settingsEnv: aci.settings,
      providerOverrides: aci.overrides,
      out: (l) => lines.push(l),
    });
    try {
      const said = messages(lines);
      assert.match(said[0] ?? '', /^funclet local will create: the cluster at https:\/\/127\.0\.0\.1:\d+ /);
      assert.match(
        said[0]!,
        new RegExp(
          `ACI: one container group per pod scheduled to ${node}, in resource group ${aci.settings[Setting.aciResourceGroup]}`,
        ),
      );
      assert.ok(!said.some((m) => /starting a local control plane/.test(m)), said.join('\n'));
      assert.equal((await core.readNode({ name: node })).metadata?.name, node);

      await podOn(node, 'on-aci');
      await waitFor(
        'the pod Running on ACI',
        async () => (await core.readNamespacedPod({ namespace, name: 'on-aci' })).status?.phase === 'Running',
        { timeoutMs: 180_000, intervalMs: 1000 },
      );
      assert.ok(aci.fake.countRequests({ method: 'PUT', path: /containerGroups/ }) >= 1);
    } finally {
      await core.deleteNamespacedPod({ namespace, name: 'on-aci' }).catch(() => undefined);
      await stop();
      await aci.stop();
    }
  });

  it("on ECS: the AWS SDK's default credential chain (here the environment) and the ECS settings, a task per pod", async () => {
    const ecs = await providerUnderTest('ecs');
    const node = uniqueName('local-ecs');
    nodes.push(node);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const lines: string[] = [];
    const stop = await runLocal({
      nodeName: node,
      kubeconfigPath: testEnv().cluster.adminKubeconfigPath,
      provider: 'ecs',
      settingsEnv: { ...ecs.settings, FUNCLET_ACI_SUBSCRIPTION_ID: 'not read for ECS' },
      out: (l) => lines.push(l),
    });
    try {
      assert.match(
        messages(lines)[0] ?? '',
        new RegExp(`ECS on Fargate: .* in cluster ${ecs.settings[Setting.ecsCluster]}, region us-east-1`),
      );
      await podOn(node, 'on-ecs');
      const client = new ECSClient({ region: 'us-east-1', endpoint: testEnv().moto.endpoint });
      await waitFor(
        'a task in the ECS cluster',
        async () =>
          (
            (await client.send(new ListTasksCommand({ cluster: ecs.settings[Setting.ecsCluster] })))
              .taskArns ?? []
          ).length === 1,
        { timeoutMs: 180_000, intervalMs: 1000 },
      );
    } finally {
      await core.deleteNamespacedPod({ namespace, name: 'on-ecs' }).catch(() => undefined);
      await stop();
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED']) {
        const value = saved[k];
        if (value === undefined) Reflect.deleteProperty(process.env, k);
        else process.env[k] = value;
      }
    }
  });

  it('without --kubeconfig starts its own control plane and leaves the cluster of $KUBECONFIG alone', async () => {
    const node = uniqueName('local-own');
    const child = spawn(process.execPath, [funclet, 'local', '--node', node], {
      env: { ...process.env, KUBECONFIG: testEnv().cluster.adminKubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(-20_000)));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await waitFor('funclet local to be up', () => Promise.resolve(/podEvents at /.test(stdout)), {
        timeoutMs: 420_000,
        intervalMs: 500,
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}\nstdout:\n${stdout.slice(-4000)}\nstderr:\n${stderr.slice(-4000)}`);
      });
      const said = messages(stdout.split('\n'));
      assert.match(said[0] ?? '', /^funclet local will create: a local control plane on 127\.0\.0\.1/);
      const ready = said
        .map((m) => /^control plane ready at (\S+)/.exec(m)?.[1])
        .find((s) => s !== undefined);
      assert.ok(ready, said.join('\n'));
      assert.notEqual(ready, testEnv().cluster.server);
      const inTestCluster = await core.listNode();
      assert.ok(
        !inTestCluster.items.some((n) => n.metadata?.name === node),
        'no node in the cluster of $KUBECONFIG',
      );
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr.slice(-4000));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
