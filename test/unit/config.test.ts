import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, Setting } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { kubeConfigFromText } from '../../core/kube/kubeconfig.ts';

const kubeconfig = 'apiVersion: v1\nkind: Config\nclusters: []\n';
const base = {
  [Setting.nodes]: JSON.stringify([{ name: 'funclet-mock-1', provider: 'mock' }]),
  [Setting.kubeconfig]: kubeconfig,
  [Setting.tableConnectionString]: 'UseDevelopmentStorage=true',
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.settings;
  }
  assert.fail('expected the configuration to be refused');
}

describe('settings', () => {
  it('reads nodes, the kubeconfig and the table connection with defaults filled in', () => {
    const config = loadConfig(base);
    assert.deepEqual(config.nodes, [
      {
        name: 'funclet-mock-1',
        provider: 'mock',
        os: 'linux',
        labels: {},
        taints: [],
        capacity: {},
        unenforcedSecurity: 'refuse',
        publicIp: 'none',
      },
    ]);
    assert.equal(config.kubeconfig.trim(), kubeconfig.trim());
    assert.equal(config.tables.tablePrefix, 'funclet');
    assert.equal(config.resync.concurrency, 16);
  });

  it('accepts a base64 kubeconfig, as a secret setting often holds it', () => {
    const config = loadConfig({ ...base, [Setting.kubeconfig]: Buffer.from(kubeconfig).toString('base64') });
    assert.equal(config.kubeconfig, kubeconfig);
  });

  it('accepts the one-node shorthand', () => {
    const { [Setting.nodes]: _, ...rest } = base;
    const config = loadConfig({ ...rest, [Setting.nodeName]: 'vk-1', [Setting.provider]: 'mock' });
    assert.equal(config.nodes[0]?.name, 'vk-1');
  });

  it('names every missing setting at once', () => {
    assert.deepEqual(problemsOf({}), [Setting.nodes, Setting.kubeconfig, Setting.tableConnectionString]);
  });

  it('names the bad field of a bad node', () => {
    const env = { ...base, [Setting.nodes]: JSON.stringify([{ name: 'Bad_Name', provider: 'gcp' }]) };
    assert.deepEqual(problemsOf(env), [`${Setting.nodes}[0].name`, `${Setting.nodes}[0].provider`]);
  });

  it('refuses malformed JSON, numbers out of range and a kubeconfig that is neither YAML nor base64', () => {
    assert.deepEqual(problemsOf({ ...base, [Setting.nodes]: '[{' }), [Setting.nodes]);
    assert.deepEqual(problemsOf({ ...base, [Setting.resyncConcurrency]: '0' }), [Setting.resyncConcurrency]);
    assert.deepEqual(problemsOf({ ...base, [Setting.kubeconfig]: '%%%' }), [Setting.kubeconfig]);
  });

  it('requires the settings of the providers the nodes use, and only those', () => {
    const env = {
      ...base,
      [Setting.nodes]: JSON.stringify([
        { name: 'a', provider: 'aci' },
        { name: 'e', provider: 'ecs' },
      ]),
    };
    assert.deepEqual(problemsOf(env), [
      Setting.aciSubscriptionId,
      Setting.aciResourceGroup,
      Setting.aciRegion,
      Setting.ecsCluster,
      Setting.ecsRegion,
      Setting.ecsSubnets,
    ]);
  });

  it('refuses a Key Vault reference the host could not resolve, rather than use its text as the webhook key', () => {
    const reference =
      '@Microsoft.KeyVault(SecretUri=https://funclet-kv.vault.azure.net/secrets/webhook-secret/)';
    assert.deepEqual(problemsOf({ ...base, [Setting.webhookSecret]: reference }), [Setting.webhookSecret]);
    assert.throws(
      () => loadConfig({ ...base, [Setting.webhookSecret]: reference }),
      /FUNCLET_WEBHOOK_SECRET: is an unresolved Key Vault reference/,
    );
    // The same for the kubeconfig: one problem naming it, not "is required" besides.
    assert.deepEqual(
      problemsOf({ ...base, [Setting.kubeconfig]: '@Microsoft.KeyVault(VaultName=v;SecretName=k)' }),
      [Setting.kubeconfig],
    );
  });

  it('names where a kubeconfig is broken without quoting its lines', () => {
    const broken = 'users:\n- name: a\n  user:\n    token: tok-do-not-print\n   bad: [\n';
    assert.throws(
      () => kubeConfigFromText(broken),
      (err: unknown) =>
        err instanceof ConfigError &&
        /FUNCLET_KUBECONFIG: is not a readable kubeconfig: not valid YAML \(bad indentation of a mapping entry at line 5, column 4\)/.test(
          err.message,
        ) &&
        !err.message.includes('tok-do-not-print'),
    );
  });

  it('maps ServiceAccounts and namespaces to ECS task roles, and refuses the old allow-list', () => {
    const ecs = {
      ...base,
      [Setting.nodes]: JSON.stringify([{ name: 'e', provider: 'ecs' }]),
      [Setting.ecsCluster]: 'c',
      [Setting.ecsRegion]: 'eu-west-1',
      [Setting.ecsSubnets]: 'subnet-1',
    };
    const roles = {
      'team/builder': 'arn:aws:iam::123456789012:role/builder',
      ops: 'arn:aws:iam::123456789012:role/ops',
    };
    assert.deepEqual(
      loadConfig({ ...ecs, [Setting.ecsTaskRoles]: JSON.stringify(roles) }).ecs?.taskRoles,
      roles,
    );
    assert.deepEqual(
      problemsOf({
        ...ecs,
        [Setting.ecsTaskRoles]: JSON.stringify({ 'Team/x': roles.ops, 'a/b/c': roles.ops, dev: 'admin' }),
      }),
      [`${Setting.ecsTaskRoles}.Team/x`, `${Setting.ecsTaskRoles}.a/b/c`, `${Setting.ecsTaskRoles}.dev`],
    );
    assert.deepEqual(problemsOf({ ...ecs, [Setting.ecsAllowedTaskRoleArns]: roles.ops }), [
      Setting.ecsAllowedTaskRoleArns,
    ]);
  });

  it('reads each node’s security and public IP choices, and refuses values it does not know', () => {
    const nodes = (n: object[]) => ({
      ...base,
      [Setting.nodes]: JSON.stringify(n),
      [Setting.aciSubscriptionId]: 's',
      [Setting.aciResourceGroup]: 'rg',
      [Setting.aciRegion]: 'westeurope',
    });
    const config = loadConfig(
      nodes([{ name: 'a', provider: 'aci', unenforcedSecurity: 'ignore', publicIp: 'annotated' }]),
    );
    assert.deepEqual(
      [config.nodes[0]?.unenforcedSecurity, config.nodes[0]?.publicIp],
      ['ignore', 'annotated'],
    );
    assert.deepEqual(
      problemsOf(
        nodes([
          { name: 'a', provider: 'aci', unenforcedSecurity: 'sometimes', publicIp: 'yes' },
          { name: 'm', provider: 'mock', publicIp: 'all' },
        ]),
      ),
      [
        `${Setting.nodes}[0].unenforcedSecurity`,
        `${Setting.nodes}[0].publicIp`,
        `${Setting.nodes}[1].publicIp`,
      ],
    );
  });

  it('says which setting is wrong in the error message', () => {
    assert.throws(
      () => loadConfig({ ...base, [Setting.webhookSecret]: 'short' }),
      /FUNCLET_WEBHOOK_SECRET: |invalid setting FUNCLET_WEBHOOK_SECRET/,
    );
  });
});
