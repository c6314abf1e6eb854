import { KubeConfig, loadYaml } from '@kubernetes/client-node';
import { ConfigError, parseProblem } from '../errors.ts';
import { Setting } from '../config.ts';
import { nodeUser, type NodeCredential } from './nodeUser.ts';

/**
 * Builds a KubeConfig from the document held in the FUNCLET_KUBECONFIG secret setting (its
 * current context, or the one named). Client certificates and bearer tokens work. Exec credential plugins (kubelogin, aws eks get-token)
 * are refused: a function has neither the binaries nor an interactive login to run them.
 */
export function kubeConfigFromText(text: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    // Only where the document is broken: a YAML error's own message quotes the lines around it.
    throw new ConfigError([
      { setting: Setting.kubeconfig, problem: `is not a readable kubeconfig: ${parseProblem(err)}` },
    ]);
  }
  if (context !== undefined) kc.setCurrentContext(context);
  const current = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!current || !cluster || !user) {
    throw new ConfigError([
      { setting: Setting.kubeconfig, problem: 'has no current-context naming both a cluster and a user' },
    ]);
  }
  if (user.exec) {
    throw new ConfigError([
      {
        setting: Setting.kubeconfig,
        problem:
          `user "${user.name}" gets its credentials from an exec plugin (${String((user.exec as { command?: unknown }).command)}), ` +
          'which a function cannot run. Give each node its own certificate instead: `funclet attach` issues them ' +
          'and writes the kubeconfig to the vault.',
      },
    ]);
  }
  if (user.authProvider) {
    throw new ConfigError([
      {
        setting: Setting.kubeconfig,
        problem: `user "${user.name}" uses the ${String((user.authProvider as { name?: unknown }).name)} auth provider, which needs an interactive login. Give each node its own certificate instead (\`funclet attach\`).`,
      },
    ]);
  }
  if (!user.token && !user.certData && !user.certFile && !user.username) {
    throw new ConfigError([
      { setting: Setting.kubeconfig, problem: `user "${user.name}" has no token or client certificate` },
    ]);
  }
  return withConnectionReuse(kc);
}

/**
 * @kubernetes/client-node 2.x builds a new undici Agent, and so a new TLS connection, for every
 * request. One kubeconfig talks to one cluster with one CA and client certificate, so one
 * keep-alive dispatcher serves every request: on loopback this cuts a call from ~15 ms to ~2 ms,
 * and in Azure it saves a TLS handshake per API call.
 */
export function withConnectionReuse(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher: (cluster: unknown, options: unknown) => unknown };
  const create = target.createDispatcher.bind(kc);
  let dispatcher: unknown;
  target.createDispatcher = (cluster, options) => (dispatcher ??= create(cluster, options));
  return kc;
}

/** A minimal kubeconfig document (JSON, which every kubeconfig reader accepts) holding one bearer token. */
export function kubeconfigDocument(options: {
  server: string;
  caPem: string;
  user: string;
  token: string;
}): string {
  return (
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'funclet',
            cluster: {
              server: options.server,
              'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
            },
          },
        ],
        users: [{ name: options.user, user: { token: options.token } }],
        contexts: [{ name: 'funclet', context: { cluster: 'funclet', user: options.user } }],
        'current-context': 'funclet',
      },
      null,
      2,
    ) + '\n'
  );
}

/**
 * One KubeConfig per virtual node. A kubeconfig `funclet attach` made for node identity has a
 * context named after each node, whose user is that node's `system:node:` certificate; each node
 * uses its own. A kubeconfig without any such context (a ServiceAccount token, the weaker
 * fallback) serves every node with its current context. A kubeconfig with contexts for some of
 * the nodes but not all is refused: the others would act under another node's identity.
 */
export function kubeConfigsByNode(text: string, nodes: readonly string[]): Map<string, KubeConfig> {
  const probe = new KubeConfig();
  try {
    probe.loadFromString(text);
  } catch {
    // kubeConfigFromText below reports it.
  }
  const named = new Set(probe.getContexts().map((c) => c.name));
  const missing = nodes.filter((n) => !named.has(n));
  if (missing.length === nodes.length) {
    const shared = kubeConfigFromText(text);
    return new Map(nodes.map((n) => [n, shared]));
  }
  if (missing.length > 0)
    throw new ConfigError([
      {
        setting: Setting.kubeconfig,
        problem: `has no context for node ${missing.join(', ')}: run funclet attach with every node of ${Setting.nodes} so that each has its own credential`,
      },
    ]);
  return new Map(nodes.map((n) => [n, kubeConfigFromText(text, n)]));
}

interface KubeconfigDoc {
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  'current-context'?: string;
  [key: string]: unknown;
}

/**
 * The kubeconfig of virtual nodes: one cluster, and per node a user `system:node:<name>` holding
 * its client certificate and key and a context named after the node.
 */
export function nodeKubeconfigDocument(options: {
  server: string;
  caPem: string;
  credentials: ReadonlyMap<string, NodeCredential>;
}): string {
  const nodes = [...options.credentials.keys()];
  const doc: KubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'funclet',
        cluster: {
          server: options.server,
          'certificate-authority-data': Buffer.from(options.caPem).toString('base64'),
        },
      },
    ],
    users: nodes.map((n) => ({ name: nodeUser(n), user: userOf(options.credentials.get(n)!) })),
    contexts: nodes.map((n) => ({ name: n, context: { cluster: 'funclet', user: nodeUser(n) } })),
    'current-context': nodes[0] ?? '',
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** The same kubeconfig with one node's certificate and key replaced (or added). */
export function withNodeCredential(text: string, node: string, credential: NodeCredential): string {
  const doc = loadYaml<KubeconfigDoc>(text);
  const contexts = (doc.contexts ??= []);
  const context = contexts.find((c) => c.name === node);
  const userName = context?.context.user ?? nodeUser(node);
  const users = (doc.users ??= []);
  const entry = users.find((u) => u.name === userName);
  if (entry) entry.user = userOf(credential);
  else users.push({ name: userName, user: userOf(credential) });
  if (!context) {
    const cluster = doc.clusters?.[0]?.name;
    if (cluster === undefined) throw new Error('the kubeconfig has no cluster');
    contexts.push({ name: node, context: { cluster, user: userName } });
  }
  return JSON.stringify(doc, null, 2) + '\n';
}

/** The certificate a node's context holds, if it holds one. */
export function nodeCertificateOf(text: string, node: string): NodeCredential | undefined {
  const doc = loadYaml<KubeconfigDoc>(text);
  const userName = doc.contexts?.find((c) => c.name === node)?.context.user;
  const user = doc.users?.find((u) => u.name === userName)?.user;
  const cert = user?.['client-certificate-data'];
  const key = user?.['client-key-data'];
  if (typeof cert !== 'string' || typeof key !== 'string') return undefined;
  return {
    certPem: Buffer.from(cert, 'base64').toString('utf8'),
    keyPem: Buffer.from(key, 'base64').toString('utf8'),
  };
}

function userOf(credential: NodeCredential): Record<string, string> {
  return {
    'client-certificate-data': Buffer.from(credential.certPem).toString('base64'),
    'client-key-data': Buffer.from(credential.keyPem).toString('base64'),
  };
}
