/**
 * What `funclet local` runs against, chosen by its flags only. Without --kubeconfig it starts its
 * own control plane and never reads $KUBECONFIG: a local run touches no cluster the user did not
 * name. --provider aci|ecs takes that provider's settings from the environment, named as the
 * Function App's (core/config.ts), with the cloud SDK's default credential chain, and the plan
 * says what it will create there before anything is.
 */
import { parseArgs } from 'node:util';
import { loadConfig, Setting, type Config } from '../core/config.ts';
import { kubeconfigDocument } from '../core/kube/kubeconfig.ts';
import { ConfigError } from '../core/errors.ts';

export const localProviders = ['mock', 'aci', 'ecs'] as const;
export type LocalProvider = (typeof localProviders)[number];

export interface LocalCommand {
  nodeName: string;
  /** The cluster's admin kubeconfig, named with --kubeconfig; absent: a local control plane. */
  kubeconfigPath?: string;
  /** A context of that kubeconfig other than its current one. */
  context?: string;
  provider: LocalProvider;
}

export const defaultLocalNode = 'funclet-local';

/** `funclet local`'s flags. $KUBECONFIG is deliberately not an input. */
export function parseLocalArgs(args: readonly string[]): LocalCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        node: { type: 'string', default: defaultLocalNode },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        provider: { type: 'string', default: 'mock' },
      },
    }));
  } catch (err) {
    throw new ConfigError([{ setting: 'funclet local', problem: (err as Error).message }]);
  }
  const problems: { setting: string; problem: string }[] = [];
  const provider = values.provider;
  if (!(localProviders as readonly string[]).includes(provider))
    problems.push({ setting: '--provider', problem: `must be aci, ecs or mock, not "${provider}"` });
  if (values.context !== undefined && values.kubeconfig === undefined)
    problems.push({
      setting: '--context',
      problem: 'names a context of --kubeconfig PATH: give the kubeconfig too',
    });
  if (values.kubeconfig === '') problems.push({ setting: '--kubeconfig', problem: 'needs a path' });
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(values.node))
    problems.push({ setting: '--node', problem: `"${values.node}" is not a valid node name` });
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeName: values.node,
    provider: provider as LocalProvider,
    ...(values.kubeconfig === undefined ? {} : { kubeconfigPath: values.kubeconfig }),
    ...(values.context === undefined ? {} : { context: values.context }),
  };
}

/** The settings a provider reads, as the Function App has them. */
const providerSettingNames: Record<LocalProvider, readonly string[]> = {
  mock: [Setting.mockStartDelayMs],
  aci: [
    Setting.aciSubscriptionId,
    Setting.aciResourceGroup,
    Setting.aciRegion,
    Setting.aciSubnetId,
    Setting.aciArmEndpoint,
  ],
  ecs: [
    Setting.ecsCluster,
    Setting.ecsRegion,
    Setting.ecsSubnets,
    Setting.ecsSecurityGroups,
    Setting.ecsAssignPublicIp,
    Setting.ecsExecutionRoleArn,
    Setting.ecsTaskRoleArn,
    Setting.ecsTaskRoles,
    Setting.ecsLogGroup,
    Setting.ecsEndpoint,
  ],
};

/** The provider's settings (and FUNCLET_CLUSTER_NAME, which its tags carry) from `env`. */
export function providerSettingsFrom(
  provider: LocalProvider,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const names = [...providerSettingNames[provider], Setting.clusterName];
  return Object.fromEntries(
    names.flatMap((n) => (env[n] === undefined || env[n] === '' ? [] : [[n, env[n]]])),
  );
}

/**
 * The run's settings checked as the Function App checks them, before anything starts: a missing
 * or bad provider setting is a ConfigError naming it. The kubeconfig and table settings the run
 * makes itself are stood in for here.
 */
export function checkedProviderConfig(command: LocalCommand, settings: Record<string, string>): Config {
  return loadConfig({
    ...settings,
    [Setting.nodes]: JSON.stringify([{ name: command.nodeName, provider: command.provider }]),
    [Setting.kubeconfig]: kubeconfigDocument({
      server: 'https://127.0.0.1:6443',
      caPem: '',
      user: 'funclet-local',
      token: 'unused',
    }),
    [Setting.tableConnectionString]: 'UseDevelopmentStorage=true',
  });
}

/** What the run will create, and where, in the order it does it: printed before it starts. */
export function localPlan(
  command: LocalCommand,
  config: Config,
  cluster: { server: string; context: string } | undefined,
  demo: boolean,
): string[] {
  const node = command.nodeName;
  const lines = [
    cluster
      ? `the cluster at ${cluster.server} (context ${cluster.context} of ${command.kubeconfigPath ?? ''}): Node ${node} and its Lease in kube-node-lease, a client certificate for system:node:${node} through its CSR API (approved with that kubeconfig's credentials), and infra/k8s's node identity objects as funclet attach installs them (namespace funclet-system, the relay's RBAC, the funclet-node-client-renewal binding); nothing of the cluster's is removed`
      : 'a local control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and metrics-server, removed on exit',
    "Azurite on 127.0.0.1 for the pods' records, removed on exit",
  ];
  if (config.aci) {
    const a = config.aci;
    lines.push(
      `ACI: one container group per pod scheduled to ${node}, in resource group ${a.resourceGroup} of subscription ${a.subscriptionId}, region ${a.region}${a.subnetId ? `, subnet ${a.subnetId}` : ''}${a.armEndpoint ? `, at ${a.armEndpoint}` : ''}, as the Azure SDK's DefaultAzureCredential signs in (environment, workload or managed identity, az login); they stay until their pods are deleted`,
    );
  } else if (config.ecs) {
    const e = config.ecs;
    lines.push(
      `ECS on Fargate: a task definition and a task per pod scheduled to ${node}, in cluster ${e.cluster}, region ${e.region}, subnets ${e.subnets.join(', ')}${e.securityGroups.length ? `, security groups ${e.securityGroups.join(', ')}` : ''}${e.endpoint ? `, at ${e.endpoint}` : ''}, with the AWS SDK's default credential chain (environment, ~/.aws profile, SSO, instance or task role); they stay until their pods are deleted`,
    );
  } else {
    lines.push(`the mock provider: instances in the Azurite table, nothing in any cloud`);
  }
  if (demo) lines.push(`Deployment default/funclet-demo (3 pods on ${node})`);
  return lines;
}
