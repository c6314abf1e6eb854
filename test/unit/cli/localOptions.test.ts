/**
 * `funclet local`'s choice of cluster and provider: by its flags only, every bad flag or missing
 * provider setting refused by name before anything starts, and the plan naming what will be made.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Setting } from '../../../core/config.ts';
import { ConfigError } from '../../../core/errors.ts';
import {
  checkedProviderConfig,
  localPlan,
  parseLocalArgs,
  providerSettingsFrom,
} from '../../../cli/localOptions.ts';

const funclet = fileURLToPath(new URL('../../../cli/funclet.ts', import.meta.url));

/** The funclet command as a user runs it; stopped after `timeoutMs` if it has not exited. */
function runFunclet(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [funclet, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The environment without any Funclet, cloud or kubeconfig setting of the machine's. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(FUNCLET_|AWS_|AZURE_|KUBECONFIG$)/.test(k)),
  );
  return { ...env, ...extra };
}

describe('funclet local flags', () => {
  it('with no flags, runs the mock on its own control plane: no kubeconfig, whatever $KUBECONFIG says', () => {
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = '/somewhere/a-production-cluster.yaml';
    try {
      assert.deepEqual(parseLocalArgs([]), { nodeName: 'funclet-local', provider: 'mock' });
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
  });

  it('takes the cluster from --kubeconfig and --context, the node and the provider', () => {
    assert.deepEqual(
      parseLocalArgs([
        '--kubeconfig',
        '/k/admin.yaml',
        '--context',
        'staging',
        '--node',
        'vk-2',
        '--provider',
        'ecs',
      ]),
      { nodeName: 'vk-2', kubeconfigPath: '/k/admin.yaml', context: 'staging', provider: 'ecs' },
    );
  });

  it('refuses each bad flag by name', () => {
    const refused = (args: string[]) => {
      try {
        parseLocalArgs(args);
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
      }
      assert.fail(`${args.join(' ')} was accepted`);
    };
    assert.match(refused(['--context', 'prod']), /--context: names a context of --kubeconfig PATH/);
    assert.match(refused(['--provider', 'gcp']), /--provider: must be aci, ecs or mock, not "gcp"/);
    assert.match(refused(['--node', 'Not_A_Node']), /--node: "Not_A_Node" is not a valid node name/);
    assert.match(refused(['--kubeconfig']), /funclet local: .*--kubeconfig/);
    assert.match(refused(['--cluster', 'x']), /funclet local: .*--cluster/);
  });

  it("reads only the chosen provider's settings, as the Function App names them", () => {
    const env = {
      [Setting.aciSubscriptionId]: 'sub',
      [Setting.aciResourceGroup]: 'rg',
      [Setting.aciRegion]: 'westeurope',
      [Setting.ecsCluster]: 'c',
      [Setting.clusterName]: 'laptop',
      [Setting.kubeconfig]: 'not for a local run',
      [Setting.nodes]: '[{"name":"elsewhere","provider":"ecs"}]',
    };
    assert.deepEqual(providerSettingsFrom('aci', env), {
      [Setting.aciSubscriptionId]: 'sub',
      [Setting.aciResourceGroup]: 'rg',
      [Setting.aciRegion]: 'westeurope',
      [Setting.clusterName]: 'laptop',
    });
    assert.deepEqual(providerSettingsFrom('mock', env), { [Setting.clusterName]: 'laptop' });
  });

  it('refuses a provider whose settings are missing, naming every one', () => {
    const command = { nodeName: 'vk-1', provider: 'ecs' as const };
    assert.throws(
      () => checkedProviderConfig(command, { [Setting.ecsRegion]: 'eu-west-1' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.settings.includes(Setting.ecsCluster) &&
        err.settings.includes(Setting.ecsSubnets) &&
        !err.settings.includes(Setting.ecsRegion),
    );
    assert.throws(
      () => checkedProviderConfig({ nodeName: 'vk-1', provider: 'aci' }, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        [Setting.aciSubscriptionId, Setting.aciResourceGroup, Setting.aciRegion].every((s) =>
          err.settings.includes(s),
        ),
    );
  });

  it('plans what it will create, in which cluster and which cloud account', () => {
    const aci = { nodeName: 'vk-1', provider: 'aci' as const, kubeconfigPath: '/k/admin.yaml' };
    const aciConfig = checkedProviderConfig(aci, {
      [Setting.aciSubscriptionId]: '00000000-0000-0000-0000-000000000001',
      [Setting.aciResourceGroup]: 'funclet-rg',
      [Setting.aciRegion]: 'westeurope',
    });
    const plan = localPlan(aci, aciConfig, { server: 'https://10.0.0.1:443', context: 'aks' }, false).join(
      '\n',
    );
    assert.match(
      plan,
      /the cluster at https:\/\/10\.0\.0\.1:443 \(context aks of \/k\/admin\.yaml\): Node vk-1/,
    );
    assert.match(
      plan,
      /ACI: one container group per pod scheduled to vk-1, in resource group funclet-rg of subscription 00000000-0000-0000-0000-000000000001, region westeurope/,
    );
    assert.match(plan, /DefaultAzureCredential/);
    assert.doesNotMatch(plan, /local control plane|funclet-demo/);

    const ecs = { nodeName: 'vk-1', provider: 'ecs' as const };
    const ecsConfig = checkedProviderConfig(ecs, {
      [Setting.ecsCluster]: 'funclet',
      [Setting.ecsRegion]: 'eu-west-1',
      [Setting.ecsSubnets]: 'subnet-1,subnet-2',
    });
    const ecsPlan = localPlan(ecs, ecsConfig, undefined, false).join('\n');
    assert.match(ecsPlan, /a local control plane on 127\.0\.0\.1/);
    assert.match(
      ecsPlan,
      /ECS on Fargate: .* in cluster funclet, region eu-west-1, subnets subnet-1, subnet-2/,
    );
    assert.match(ecsPlan, /default credential chain/);

    const mock = { nodeName: 'funclet-local', provider: 'mock' as const };
    const mockPlan = localPlan(mock, checkedProviderConfig(mock, {}), undefined, true).join('\n');
    assert.match(mockPlan, /the mock provider: .*nothing in any cloud/);
    assert.match(mockPlan, /Deployment default\/funclet-demo/);
  });

  it('as a command, stops at a bad flag or a missing setting before it starts or reads anything', async () => {
    // $KUBECONFIG names a file that does not exist: reading it would be a different error.
    const env = cleanEnv({ KUBECONFIG: '/nonexistent/kubeconfig' });
    const context = await runFunclet(['local', '--context', 'prod'], env);
    assert.equal(context.code, 2, context.stderr);
    assert.match(context.stderr, /funclet: invalid setting --context/);

    const ecs = await runFunclet(['local', '--provider', 'ecs'], env);
    assert.equal(ecs.code, 2, ecs.stderr);
    assert.match(ecs.stderr, /FUNCLET_ECS_CLUSTER: is required/);
    assert.match(ecs.stderr, /FUNCLET_ECS_REGION: is required/);
    assert.equal(ecs.stdout, '', 'nothing was started or planned');
  });
});
