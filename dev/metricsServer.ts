/**
 * metrics-server as a process beside a local cluster, registered as the APIService
 * v1beta1.metrics.k8s.io the way its upstream manifests (manifests/base) register it, so
 * `kubectl top` and the aggregation layer work as in a real cluster: it runs as the kube-system
 * ServiceAccount metrics-server with that ServiceAccount's RBAC, and scrapes each node's
 * kubelet endpoint at its InternalIP and daemonEndpoints port.
 *
 * The aggregator reaches it on loopback through a Service of type ExternalName whose name is
 * 127.0.0.1: the API server resolves an APIService's ExternalName Service to
 * https://EXTERNALNAME:PORT (PORT from the APIService), while Endpoints and EndpointSlices refuse
 * loopback addresses. The name is an IP address, so no DNS lookup happens.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiStatus } from '../core/kube/errors.ts';
import { kubeconfigDocument } from '../core/kube/kubeconfig.ts';
import { metricsServerBinary } from './goTools.ts';
import { freePort, startServer, waitFor } from './process.ts';

export const metricsApiService = 'v1beta1.metrics.k8s.io';
const account = { namespace: 'kube-system', name: 'metrics-server' } as const;
/** metrics-server reads its kubeconfig once; its token outlives any local run. */
const tokenExpirationSeconds = 7 * 24 * 3600;

export interface MetricsServerOptions {
  /** An admin kubeconfig (the document's text) of the cluster to serve. */
  adminKubeconfig: string;
  /** Where its kubeconfig, serving certificate and log go; a new temp dir (removed by stop()) by default. */
  dir?: string;
  /** The metrics-server binary; built (or taken from the cache) at the pinned release by default. */
  binary?: string;
  log?: (line: string) => void;
}

export interface MetricsServer {
  /** Its HTTPS port on 127.0.0.1, where the aggregator sends metrics.k8s.io requests. */
  readonly port: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts metrics-server and registers it; resolves once the APIService is Available and
 * /apis/metrics.k8s.io/v1beta1/nodes answers through the API server.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const log = options.log ?? (() => {});
  const binary = options.binary ?? (await metricsServerBinary(log));
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'funclet-metrics-server-'));
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const admin = new KubeConfig();
  admin.loadFromString(options.adminKubeconfig);
  const cluster = admin.getCurrentCluster();
  if (!cluster?.caData) throw new Error('the admin kubeconfig names no inline certificate authority');

  for (const object of metricsServerRbac()) await createOrReplace(admin, object);
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    ...account,
    body: { spec: { audiences: [], expirationSeconds: tokenExpirationSeconds } },
  });
  if (!token.status?.token) throw new Error('TokenRequest for kube-system/metrics-server returned no token');
  const kubeconfig = join(dir, 'metrics-server.kubeconfig');
  writeFileSync(
    kubeconfig,
    kubeconfigDocument({
      server: cluster.server,
      caPem: Buffer.from(cluster.caData, 'base64').toString('utf8'),
      user: account.name,
      token: token.status.token,
    }),
    { mode: 0o600 },
  );

  const port = await freePort();
  const server = startServer(
    'metrics-server',
    binary,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      `--cert-dir=${join(dir, 'certs')}`,
      // Kubelet serving certificates are self-signed, as on most clusters' nodes.
      '--kubelet-insecure-tls',
      '--kubelet-preferred-address-types=InternalIP',
      '--kubelet-use-node-status-port',
      '--metric-resolution=15s',
    ],
    { logFile: join(dir, 'metrics-server.log') },
  );
  const stop = async () => {
    await server.stop();
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Register it once it serves: the aggregator then finds it available at its first check.
    await waitFor('metrics-server /livez', async () => (await livez(port)) === 200, {
      timeoutMs: 60_000,
      intervalMs: 250,
      server,
    });
    for (const object of metricsApiRegistration(port)) await createOrReplace(admin, object);
    const registration = admin.makeApiClient(ApiregistrationV1Api);
    await waitFor(
      `APIService ${metricsApiService} Available`,
      async () => {
        const service = await registration.readAPIService({ name: metricsApiService });
        return (service.status?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
      },
      { timeoutMs: 60_000, intervalMs: 250, server },
    );
    const metrics = admin.makeApiClient(CustomObjectsApi);
    await waitFor(
      '/apis/metrics.k8s.io/v1beta1/nodes',
      async () => {
        await metrics.listClusterCustomObject({
          group: 'metrics.k8s.io',
          version: 'v1beta1',
          plural: 'nodes',
        });
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250, server },
    );
    log(`metrics-server serving ${metricsApiService} on 127.0.0.1:${port}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, logFile: server.logFile, stop };
}

/** manifests/base/rbac.yaml of metrics-server, with its ServiceAccount. */
function metricsServerRbac(): KubernetesObject[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const subjects = [{ kind: 'ServiceAccount', ...account }];
  const labels = { 'k8s-app': 'metrics-server' };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...account, labels } },
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: {
        name: 'system:aggregated-metrics-reader',
        labels: {
          ...labels,
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        },
      },
      rules: [
        { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: 'system:metrics-server', labels },
      rules: [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:metrics-server', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:metrics-server' },
      subjects,
    } as KubernetesObject,
    {
      // Delegated authentication and authorization: TokenReview and SubjectAccessReview.
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'metrics-server:system:auth-delegator', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects,
    } as KubernetesObject,
    {
      // Reads the client and front-proxy CAs from kube-system/extension-apiserver-authentication.
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: 'metrics-server-auth-reader', namespace: 'kube-system', labels },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects,
    } as KubernetesObject,
  ];
}

/** manifests/base/service.yaml and apiservice.yaml, pointed at 127.0.0.1:port. */
function metricsApiRegistration(port: number): KubernetesObject[] {
  const labels = { 'k8s-app': 'metrics-server' };
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...account, labels },
      spec: { type: 'ExternalName', externalName: '127.0.0.1' },
    } as KubernetesObject,
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: metricsApiService, labels },
      spec: {
        service: { ...account, port },
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        // metrics-server serves a self-signed certificate from --cert-dir, as upstream deploys it.
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    } as KubernetesObject,
  ];
}

async function createOrReplace(kc: KubeConfig, object: KubernetesObject): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  try {
    await api.create(object);
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
    const current = await api.read(object as Parameters<typeof api.read>[0]);
    await api.replace({
      ...object,
      metadata: { ...object.metadata, resourceVersion: current.metadata?.resourceVersion },
    });
  }
}

/** GET /livez on metrics-server's own port (its certificate is self-signed); the status, 0 on no answer. */
function livez(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/livez', rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
