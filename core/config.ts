/**
 * Funclet's settings, read from the environment (App Settings, Key Vault references) once per
 * instance and validated as a whole: every bad or missing setting is named in one ConfigError.
 */
import { ConfigError, parseProblem } from './errors.ts';
import { ProviderName } from './providers/types.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface CapacityOverride {
  cpu?: string;
  memory?: string;
  pods?: string;
  ephemeralStorage?: string;
}

export interface VirtualNodeConfig {
  name: string;
  provider: ProviderName;
  os: 'linux' | 'windows';
  labels: Record<string, string>;
  /** Added to the provider taint every virtual node carries. */
  taints: Taint[];
  capacity: CapacityOverride;
  /**
   * Pod security settings the node's provider cannot enforce (core/providers/security.ts):
   * refused by default, or run without them.
   */
  unenforcedSecurity: 'refuse' | 'ignore';
  /**
   * ACI nodes: which pods get a public IP. none (the default): no pod does; annotated: pods with
   * the funclet.io/aci-public-ip annotation set to "true"; all: every pod that declares ports.
   */
  publicIp: 'none' | 'annotated' | 'all';
}

export type TableStorageConfig =
  | { kind: 'connectionString'; connectionString: string; tablePrefix: string }
  | { kind: 'accountUrl'; accountUrl: string; tablePrefix: string };

export interface AciConfig {
  subscriptionId: string;
  resourceGroup: string;
  region: string;
  /** A delegated subnet's resource id; pods then get private IPs and cluster DNS. */
  subnetId?: string;
  /** Overrides the ARM endpoint (tests point it at test/fakes/aci). */
  armEndpoint?: string;
}

export interface EcsConfig {
  cluster: string;
  region: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
  executionRoleArn?: string;
  /** The task role of pods no entry of taskRoles covers; none when unset. */
  taskRoleArn?: string;
  /**
   * The operator's mapping of a pod's ServiceAccount to its task role, as IRSA maps them: keys are
   * `namespace/serviceaccount` or `namespace` (every ServiceAccount there), values role ARNs.
   */
  taskRoles: Record<string, string>;
  logGroup?: string;
  /** Overrides the AWS endpoint (tests point it at moto). */
  endpoint?: string;
}

export interface MockConfig {
  /** How long a mock instance stays Pending before it runs. */
  startDelayMs: number;
  /**
   * The mock exec server (core/providers/mock/execServer.ts) whose sessions `kubectl exec` on a
   * mock node uses: ws://host:port. Without it, exec on the mock is refused.
   */
  execUrl?: string;
}

export interface Config {
  nodes: VirtualNodeConfig[];
  /** The kubeconfig document (YAML or JSON), decoded if the setting held base64. */
  kubeconfig: string;
  /**
   * Where the kubeconfig is kept, for writing renewed node certificates back: the Key Vault
   * secret FUNCLET_KUBECONFIG references, by its URI without a version.
   */
  kubeconfigSecretUri?: string;
  tables: TableStorageConfig;
  /** Names the cluster in provider tags so that two clusters sharing an account stay apart. */
  clusterName: string;
  webhookSecret?: string;
  aci?: AciConfig;
  ecs?: EcsConfig;
  mock: MockConfig;
  /** Pod resync: how many pods are reconciled at once, and how long one pass may take. */
  resync: { concurrency: number; budgetMs: number };
  /** The first restart of an ended instance waits this long; each further one twice as long, up to 5 minutes. */
  restartBackoffMs: number;
}

export const Setting = {
  nodes: 'FUNCLET_NODES',
  nodeName: 'FUNCLET_NODE_NAME',
  provider: 'FUNCLET_PROVIDER',
  kubeconfig: 'FUNCLET_KUBECONFIG',
  kubeconfigSecretUri: 'FUNCLET_KUBECONFIG_SECRET_URI',
  tableConnectionString: 'FUNCLET_TABLE_CONNECTION_STRING',
  tableAccountUrl: 'FUNCLET_TABLE_ACCOUNT_URL',
  tablePrefix: 'FUNCLET_TABLE_PREFIX',
  clusterName: 'FUNCLET_CLUSTER_NAME',
  webhookSecret: 'FUNCLET_WEBHOOK_SECRET',
  aciSubscriptionId: 'FUNCLET_ACI_SUBSCRIPTION_ID',
  aciResourceGroup: 'FUNCLET_ACI_RESOURCE_GROUP',
  aciRegion: 'FUNCLET_ACI_REGION',
  aciSubnetId: 'FUNCLET_ACI_SUBNET_ID',
  aciArmEndpoint: 'FUNCLET_ACI_ARM_ENDPOINT',
  ecsCluster: 'FUNCLET_ECS_CLUSTER',
  ecsRegion: 'FUNCLET_ECS_REGION',
  ecsSubnets: 'FUNCLET_ECS_SUBNETS',
  ecsSecurityGroups: 'FUNCLET_ECS_SECURITY_GROUPS',
  ecsAssignPublicIp: 'FUNCLET_ECS_ASSIGN_PUBLIC_IP',
  ecsExecutionRoleArn: 'FUNCLET_ECS_EXECUTION_ROLE_ARN',
  ecsTaskRoleArn: 'FUNCLET_ECS_TASK_ROLE_ARN',
  ecsTaskRoles: 'FUNCLET_ECS_TASK_ROLES',
  /** No longer read: pods picked a role by annotation. Named so that a leftover is refused. */
  ecsAllowedTaskRoleArns: 'FUNCLET_ECS_ALLOWED_TASK_ROLE_ARNS',
  ecsLogGroup: 'FUNCLET_ECS_LOG_GROUP',
  ecsEndpoint: 'FUNCLET_ECS_ENDPOINT',
  mockStartDelayMs: 'FUNCLET_MOCK_START_DELAY_MS',
  mockExecUrl: 'FUNCLET_MOCK_EXEC_URL',
  resyncConcurrency: 'FUNCLET_RESYNC_CONCURRENCY',
  resyncBudgetMs: 'FUNCLET_RESYNC_BUDGET_MS',
  restartBackoffMs: 'FUNCLET_RESTART_BACKOFF_MS',
} as const;

type Env = Readonly<Record<string, string | undefined>>;
type Problem = { setting: string; problem: string };

/** What App Service leaves in a setting whose Key Vault reference it could not resolve. */
const unresolvedKeyVaultReference = /^@Microsoft\.KeyVault\(/i;

/** A DNS-1123 subdomain, which is what a Node name must be. */
const nodeNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const tableNamePattern = /^[A-Za-z][A-Za-z0-9]{2,40}$/;

function mockConfig(startDelayMs: number, execUrl: string | undefined): MockConfig {
  return execUrl === undefined ? { startDelayMs } : { startDelayMs, execUrl };
}

/** A ws:// or wss:// URL setting, without a query or fragment. */
function webSocketUrl(setting: string, value: string | undefined, problems: Problem[]): string | undefined {
  if (value === undefined) return undefined;
  if (!URL.canParse(value) || !/^wss?:$/.test(new URL(value).protocol) || /[?#]/.test(value)) {
    problems.push({
      setting,
      problem: 'must be a ws:// or wss:// URL without a query, such as ws://127.0.0.1:8090',
    });
    return undefined;
  }
  return value.replace(/\/+$/, '');
}

export function loadConfig(env: Env = process.env): Config {
  const problems: Problem[] = [];
  const unresolved = new Set<string>();
  const text = (setting: string): string | undefined => {
    const value = env[setting]?.trim();
    if (value !== undefined && unresolvedKeyVaultReference.test(value)) {
      // The Functions host leaves a reference it could not resolve in place, literally: taken as
      // the value, it would make the reference text itself the webhook's HMAC key.
      if (!unresolved.has(setting))
        problems.push({
          setting,
          problem:
            'is an unresolved Key Vault reference: the Function App could not read the secret (check that the secret exists and that the app identity may read it)',
        });
      unresolved.add(setting);
      return undefined;
    }
    return value === '' ? undefined : value;
  };
  const required = (setting: string): string => {
    const value = text(setting);
    if (value === undefined && !unresolved.has(setting)) problems.push({ setting, problem: 'is required' });
    return value ?? '';
  };
  const integer = (setting: string, fallback: number, min: number, max: number): number => {
    const value = text(setting);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push({
        setting,
        problem: `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
      });
      return fallback;
    }
    return n;
  };
  const list = (setting: string): string[] =>
    (text(setting) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');

  const nodes = parseNodes(env, text, problems);
  const kubeconfig = parseKubeconfig(required(Setting.kubeconfig), problems);
  const tables = parseTables(text, problems);
  const used = new Set(nodes.map((n) => n.provider));

  const config: Config = {
    nodes,
    kubeconfig,
    kubeconfigSecretUri: url(text(Setting.kubeconfigSecretUri), Setting.kubeconfigSecretUri, problems),
    tables,
    clusterName: text(Setting.clusterName) ?? 'default',
    webhookSecret: text(Setting.webhookSecret),
    mock: mockConfig(
      integer(Setting.mockStartDelayMs, 2000, 0, 3_600_000),
      webSocketUrl(Setting.mockExecUrl, text(Setting.mockExecUrl), problems),
    ),
    resync: {
      concurrency: integer(Setting.resyncConcurrency, 16, 1, 256),
      budgetMs: integer(Setting.resyncBudgetMs, 45_000, 1000, 600_000),
    },
    restartBackoffMs: integer(Setting.restartBackoffMs, 10_000, 0, 300_000),
  };
  if (config.webhookSecret !== undefined && config.webhookSecret.length < 32) {
    problems.push({ setting: Setting.webhookSecret, problem: 'must be at least 32 characters' });
  }
  if (used.has('aci')) {
    config.aci = {
      subscriptionId: required(Setting.aciSubscriptionId),
      resourceGroup: required(Setting.aciResourceGroup),
      region: required(Setting.aciRegion),
      subnetId: text(Setting.aciSubnetId),
      armEndpoint: url(text(Setting.aciArmEndpoint), Setting.aciArmEndpoint, problems),
    };
    if (config.aci.subnetId !== undefined)
      nodes.forEach((n, i) => {
        if (n.publicIp !== 'none')
          problems.push({
            setting: `${Setting.nodes}[${i}].publicIp`,
            problem: `cannot be ${n.publicIp} with ${Setting.aciSubnetId}: ACI gives a container group in a virtual network no public IP`,
          });
      });
  }
  if (used.has('ecs')) {
    const assign = text(Setting.ecsAssignPublicIp) ?? 'false';
    if (assign !== 'true' && assign !== 'false') {
      problems.push({
        setting: Setting.ecsAssignPublicIp,
        problem: `must be true or false, got ${JSON.stringify(assign)}`,
      });
    }
    config.ecs = {
      cluster: required(Setting.ecsCluster),
      region: required(Setting.ecsRegion),
      subnets: list(Setting.ecsSubnets),
      securityGroups: list(Setting.ecsSecurityGroups),
      assignPublicIp: assign === 'true',
      executionRoleArn: text(Setting.ecsExecutionRoleArn),
      taskRoleArn: text(Setting.ecsTaskRoleArn),
      taskRoles: parseTaskRoles(text(Setting.ecsTaskRoles), problems),
      logGroup: text(Setting.ecsLogGroup),
      endpoint: url(text(Setting.ecsEndpoint), Setting.ecsEndpoint, problems),
    };
    if (text(Setting.ecsAllowedTaskRoleArns) !== undefined)
      problems.push({
        setting: Setting.ecsAllowedTaskRoleArns,
        problem: `is no longer read: pods no longer pick task roles; map their namespaces or ServiceAccounts to roles in ${Setting.ecsTaskRoles}`,
      });
    if (config.ecs.taskRoleArn !== undefined && !iamRoleArn.test(config.ecs.taskRoleArn))
      problems.push({
        setting: Setting.ecsTaskRoleArn,
        problem: 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
      });
    if (config.ecs.subnets.length === 0)
      problems.push({ setting: Setting.ecsSubnets, problem: 'needs at least one subnet id' });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const iamRoleArn = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const namespaceName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const serviceAccountName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** FUNCLET_ECS_TASK_ROLES: {"namespace/serviceaccount" | "namespace": "arn:aws:iam::...:role/..."}. */
function parseTaskRoles(json: string | undefined, problems: Problem[]): Record<string, string> {
  if (json === undefined) return {};
  const setting = Setting.ecsTaskRoles;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    problems.push({ setting, problem: `is not valid JSON (${parseProblem(err)})` });
    return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push({
      setting,
      problem: 'must be a JSON object of "namespace/serviceaccount" or "namespace" to role ARN',
    });
    return {};
  }
  const roles: Record<string, string> = {};
  for (const [key, arn] of Object.entries(raw)) {
    const [namespace = '', account, extra] = key.split('/');
    if (
      !namespaceName.test(namespace) ||
      extra !== undefined ||
      (account !== undefined && !serviceAccountName.test(account))
    )
      problems.push({
        setting: `${setting}.${key}`,
        problem: 'must be "namespace" or "namespace/serviceaccount"',
      });
    else if (typeof arn !== 'string' || !iamRoleArn.test(arn))
      problems.push({
        setting: `${setting}.${key}`,
        problem: 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
      });
    else roles[key] = arn;
  }
  return roles;
}

function parseNodes(
  env: Env,
  text: (s: string) => string | undefined,
  problems: Problem[],
): VirtualNodeConfig[] {
  const json = text(Setting.nodes);
  if (json === undefined) {
    // The one-node shorthand: FUNCLET_NODE_NAME and FUNCLET_PROVIDER.
    const name = text(Setting.nodeName);
    if (name === undefined) {
      problems.push({
        setting: Setting.nodes,
        problem: `is required (or set ${Setting.nodeName} and ${Setting.provider})`,
      });
      return [];
    }
    return validNodes([{ name, provider: env[Setting.provider] ?? 'mock' }], Setting.nodeName, problems);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    problems.push({ setting: Setting.nodes, problem: `is not valid JSON (${(err as Error).message})` });
    return [];
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push({ setting: Setting.nodes, problem: 'must be a non-empty JSON array of nodes' });
    return [];
  }
  return validNodes(raw, Setting.nodes, problems);
}

function validNodes(raw: unknown[], setting: string, problems: Problem[]): VirtualNodeConfig[] {
  const nodes: VirtualNodeConfig[] = [];
  const seen = new Set<string>();
  raw.forEach((item, i) => {
    const where = raw.length > 1 || setting === Setting.nodes ? `${setting}[${i}]` : setting;
    if (typeof item !== 'object' || item === null) {
      problems.push({ setting: where, problem: 'must be an object with name and provider' });
      return;
    }
    const n = item as Record<string, unknown>;
    const name = typeof n.name === 'string' ? n.name : '';
    if (!nodeNamePattern.test(name) || name.length > 253) {
      problems.push({
        setting: `${where}.name`,
        problem: `must be a lowercase DNS name, got ${JSON.stringify(n.name)}`,
      });
    } else if (seen.has(name)) {
      problems.push({ setting: `${where}.name`, problem: `node ${name} is listed twice` });
    }
    seen.add(name);
    const provider = n.provider ?? 'mock';
    if (typeof provider !== 'string' || !(provider in ProviderName)) {
      problems.push({
        setting: `${where}.provider`,
        problem: `must be one of ${Object.keys(ProviderName).join(', ')}, got ${JSON.stringify(provider)}`,
      });
    }
    const os = n.os ?? 'linux';
    if (os !== 'linux' && os !== 'windows') {
      problems.push({
        setting: `${where}.os`,
        problem: `must be linux or windows, got ${JSON.stringify(os)}`,
      });
    }
    const labels = stringMap(n.labels, `${where}.labels`, problems);
    const taints = parseTaints(n.taints, `${where}.taints`, problems);
    const capacity = stringMap(n.capacity, `${where}.capacity`, problems) as CapacityOverride;
    const unenforcedSecurity = n.unenforcedSecurity ?? 'refuse';
    if (unenforcedSecurity !== 'refuse' && unenforcedSecurity !== 'ignore') {
      problems.push({
        setting: `${where}.unenforcedSecurity`,
        problem: `must be refuse or ignore, got ${JSON.stringify(unenforcedSecurity)}`,
      });
    }
    const publicIp = n.publicIp ?? 'none';
    if (publicIp !== 'none' && publicIp !== 'annotated' && publicIp !== 'all') {
      problems.push({
        setting: `${where}.publicIp`,
        problem: `must be none, annotated or all, got ${JSON.stringify(publicIp)}`,
      });
    } else if (publicIp !== 'none' && provider !== 'aci') {
      problems.push({
        setting: `${where}.publicIp`,
        problem: `applies to aci nodes only (ECS pods get public IPs from ${Setting.ecsAssignPublicIp})`,
      });
    }
    nodes.push({
      name,
      provider: provider as ProviderName,
      os: os as 'linux' | 'windows',
      labels,
      taints,
      capacity,
      unenforcedSecurity: unenforcedSecurity as VirtualNodeConfig['unenforcedSecurity'],
      publicIp: publicIp as VirtualNodeConfig['publicIp'],
    });
  });
  return nodes;
}

function stringMap(value: unknown, setting: string, problems: Problem[]): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({ setting, problem: 'must be an object of strings' });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') problems.push({ setting: `${setting}.${k}`, problem: 'must be a string' });
    else out[k] = v;
  }
  return out;
}

function parseTaints(value: unknown, setting: string, problems: Problem[]): Taint[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push({ setting, problem: 'must be an array of {key, value, effect}' });
    return [];
  }
  const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
  return value.flatMap((t: unknown, i): Taint[] => {
    const taint = t as Partial<Taint> | null;
    if (typeof taint?.key !== 'string' || !effects.includes(taint.effect as string)) {
      problems.push({
        setting: `${setting}[${i}]`,
        problem: `needs a key and an effect of ${effects.join(', ')}`,
      });
      return [];
    }
    return [{ key: taint.key, value: taint.value, effect: taint.effect as Taint['effect'] }];
  });
}

/** A kubeconfig setting holds the document itself, as YAML/JSON or base64 of it. */
function parseKubeconfig(value: string, problems: Problem[]): string {
  if (value === '') return '';
  if (/^\s*(apiVersion|kind|clusters|users|contexts|current-context|\{)/m.test(value)) return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  if (/^\s*(apiVersion|kind|clusters|users|contexts|current-context|\{)/m.test(decoded)) return decoded;
  problems.push({
    setting: Setting.kubeconfig,
    problem: 'must hold a kubeconfig document (YAML or JSON) or its base64; it is neither',
  });
  return '';
}

function parseTables(text: (s: string) => string | undefined, problems: Problem[]): TableStorageConfig {
  const tablePrefix = text(Setting.tablePrefix) ?? 'funclet';
  if (!tableNamePattern.test(tablePrefix)) {
    problems.push({
      setting: Setting.tablePrefix,
      problem: 'must be 3-41 letters and digits, starting with a letter',
    });
  }
  const connectionString = text(Setting.tableConnectionString);
  const accountUrl = text(Setting.tableAccountUrl);
  if (connectionString !== undefined) {
    if (
      !/(TableEndpoint|AccountName)=/i.test(connectionString) &&
      !/UseDevelopmentStorage=true/i.test(connectionString)
    ) {
      problems.push({
        setting: Setting.tableConnectionString,
        problem: 'is not a storage connection string',
      });
    }
    return { kind: 'connectionString', connectionString, tablePrefix };
  }
  if (accountUrl !== undefined) {
    url(accountUrl, Setting.tableAccountUrl, problems);
    return { kind: 'accountUrl', accountUrl, tablePrefix };
  }
  problems.push({
    setting: Setting.tableConnectionString,
    problem: `is required (or set ${Setting.tableAccountUrl} to use the app's managed identity)`,
  });
  return { kind: 'connectionString', connectionString: '', tablePrefix };
}

function url(value: string | undefined, setting: string, problems: Problem[]): string | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('not http(s)');
    return value;
  } catch {
    problems.push({ setting, problem: `must be an http(s) URL, got ${JSON.stringify(value)}` });
    return undefined;
  }
}
