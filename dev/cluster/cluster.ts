import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, waitFor, type ServerProcess } from '../process.ts';
import { controlPlaneBinary } from './build.ts';
import { createClusterPki, frontProxyClientName, kubeletClientUser } from './pki.ts';
import { kubeconfigDocument as kubeconfig } from '../../core/kube/kubeconfig.ts';

export interface ClusterOptions {
  /** kube-controller-manager --node-monitor-grace-period, in seconds. */
  nodeMonitorGracePeriodSeconds?: number;
  /**
   * Client rates of the controller-manager and the scheduler towards the API server
   * (--kube-api-qps, --kube-api-burst); their own defaults (20/30 and 50/100) when absent.
   * Large clusters run them higher, which the benchmarks do so that a node, not the
   * controllers, sets the pace.
   */
  kubeApiRates?: { qps: number; burst: number };
  /** Where the cluster's files go; a new temp dir by default. */
  dir?: string;
  log?: (line: string) => void;
}

export interface Cluster {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  readonly caPem: string;
  /**
   * PEM of the cluster CA: the API server accepts client certificates it signed, publishes it
   * as `client-ca-file` in kube-system/extension-apiserver-authentication, signed its kubelet
   * client certificate, and the controller-manager signs approved CSRs with it.
   */
  readonly clientCaPem: string;
  /** A kubeconfig (as text) for a member of system:masters. Tests use it for setup only. */
  readonly adminKubeconfig: string;
  readonly adminKubeconfigPath: string;
  readonly dir: string;
  /** Seconds it took from start() to a ready API server with all components running. */
  readonly startSeconds: number;
  /** Stops the kube-apiserver process and starts it again, as an upgrade or a crash would. */
  restartApiServer(): Promise<void>;
  /** Stops etcd and starts it again on the same ports and data, as a crash of the store would. */
  restartEtcd(): Promise<void>;
  stop(): Promise<void>;
}

/** What tests need to reach a cluster started by another process (test/run.ts). */
export interface ClusterInfo {
  server: string;
  caPem: string;
  /** The cluster CA (see Cluster.clientCaPem). */
  clientCaPem: string;
  adminKubeconfigPath: string;
  nodeMonitorGracePeriodSeconds: number;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler, each in its own
 * process, on free loopback ports, set up as a real cluster is: RBAC, the Node authorizer and
 * NodeRestriction on, service account tokens working, x509 client certificates from the
 * cluster CA accepted, approved CSRs signed, a kubelet client certificate for the API server's
 * calls to kubelets, and the aggregation layer's front proxy for APIServices.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const binary = await controlPlaneBinary(log);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'funclet-cluster-'));
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const servers: ServerProcess[] = [];
  const stop = async () => {
    for (const server of servers.reverse()) await server.stop();
    servers.length = 0;
  };

  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const server = `https://127.0.0.1:${apiPort}`;

    // Static bearer tokens: one for the test harness (system:masters), and one each for the
    // controller-manager and scheduler under the user names the bootstrap RBAC policy binds.
    const tokens = {
      admin: randomBytes(24).toString('hex'),
      controllerManager: randomBytes(24).toString('hex'),
      scheduler: randomBytes(24).toString('hex'),
    };
    writeFileSync(
      join(dir, 'tokens.csv'),
      [
        `${tokens.admin},funclet-test-admin,funclet-test-admin,"system:masters"`,
        `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager`,
        `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
      ].join('\n') + '\n',
      { mode: 0o600 },
    );
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(dir, 'certs', 'sa.key');
    const saPub = join(dir, 'certs', 'sa.pub');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const pki = createClusterPki(join(dir, 'certs'));

    // The log is appended to across restarts: etcd is ready once it says so one more time.
    const readyLines = (file: string) => readFileSync(file, 'utf8').split('etcd: ready').length - 1;
    const startEtcd = async (): Promise<ServerProcess> => {
      const logFile = join(dir, 'etcd.log');
      const before = existsSync(logFile) ? readyLines(logFile) : 0;
      const process = startServer(
        'etcd',
        binary,
        [
          'etcd',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-url=http://127.0.0.1:${etcdClient}`,
          `--listen-peer-url=http://127.0.0.1:${etcdPeer}`,
        ],
        { logFile },
      );
      try {
        await waitFor('etcd', () => Promise.resolve(readyLines(logFile) > before), {
          timeoutMs: 60_000,
          server: process,
        });
      } catch (err) {
        await process.stop();
        throw err;
      }
      return process;
    };
    let etcd = await startEtcd();
    servers.push(etcd);

    const apiserverArgs = [
      'kube-apiserver',
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=Node,RBAC',
      // On top of the default plugins, as every kubeadm, AKS and EKS cluster has it.
      '--enable-admission-plugins=NodeRestriction',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--client-ca-file=${pki.clusterCa.certFile}`,
      // Calls to kubelets (logs, exec, node proxy, metrics): the node's InternalIP first, as kubeadm sets it.
      `--kubelet-client-certificate=${pki.kubeletClient.certFile}`,
      `--kubelet-client-key=${pki.kubeletClient.keyFile}`,
      '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
      // The aggregation layer: requests proxied to APIServices carry the user in these headers,
      // over a connection authenticated with the front-proxy client certificate.
      `--requestheader-client-ca-file=${pki.frontProxyCa.certFile}`,
      `--proxy-client-cert-file=${pki.frontProxyClient.certFile}`,
      `--proxy-client-key-file=${pki.frontProxyClient.keyFile}`,
      `--requestheader-allowed-names=${frontProxyClientName}`,
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=0',
    ];
    const startApiServer = async (): Promise<ServerProcess> => {
      const process = startServer('kube-apiserver', binary, apiserverArgs, {
        logFile: join(dir, 'kube-apiserver.log'),
      });
      try {
        await waitFor(
          'kube-apiserver /readyz',
          async () => (await get(`${server}/readyz`, tokens.admin)) === 200,
          {
            timeoutMs: 120_000,
            intervalMs: 250,
            server: process,
          },
        );
      } catch (err) {
        await process.stop();
        throw err;
      }
      return process;
    };
    let apiserver = await startApiServer();
    servers.push(apiserver);

    // The API server generated its serving certificate (followed by its CA) in --cert-dir.
    const caPem = lastPemCertificate(readFileSync(join(dir, 'certs', 'apiserver.crt'), 'utf8'));
    const caFile = join(dir, 'certs', 'ca.crt');
    writeFileSync(caFile, caPem);

    const kubeconfigFor = (user: string, token: string) => kubeconfig({ server, caPem, user, token });
    const adminKubeconfig = kubeconfigFor('funclet-test-admin', tokens.admin);
    const adminKubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfigPath, adminKubeconfig, { mode: 0o600 });
    const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
    writeFileSync(cmKubeconfig, kubeconfigFor('system:kube-controller-manager', tokens.controllerManager), {
      mode: 0o600,
    });
    const schedulerKubeconfig = join(dir, 'scheduler.kubeconfig');
    writeFileSync(schedulerKubeconfig, kubeconfigFor('system:kube-scheduler', tokens.scheduler), {
      mode: 0o600,
    });

    const grace = options.nodeMonitorGracePeriodSeconds ?? 40;
    const rates = options.kubeApiRates
      ? [`--kube-api-qps=${options.kubeApiRates.qps}`, `--kube-api-burst=${options.kubeApiRates.burst}`]
      : [];
    servers.push(
      startServer(
        'kube-controller-manager',
        binary,
        [
          'kube-controller-manager',
          `--kubeconfig=${cmKubeconfig}`,
          '--leader-elect=false',
          '--controllers=*',
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${saKey}`,
          `--root-ca-file=${caFile}`,
          // csrsigning signs approved kubelet and client CSRs with the cluster CA.
          `--cluster-signing-cert-file=${pki.clusterCa.certFile}`,
          `--cluster-signing-key-file=${pki.clusterCa.keyFile}`,
          `--node-monitor-grace-period=${grace}s`,
          '--node-monitor-period=1s',
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          '--concurrent-deployment-syncs=10',
          '--concurrent-replicaset-syncs=10',
          ...rates,
          '--profiling=false',
          '--v=0',
        ],
        { logFile: join(dir, 'kube-controller-manager.log') },
      ),
      startServer(
        'kube-scheduler',
        binary,
        [
          'kube-scheduler',
          `--kubeconfig=${schedulerKubeconfig}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          ...rates,
          '--profiling=false',
          '--v=0',
        ],
        { logFile: join(dir, 'kube-scheduler.log') },
      ),
    );
    // The controller-manager is useful once its service account controller has given the
    // default namespace its ServiceAccount; pods cannot be admitted before that.
    await waitFor(
      'the default ServiceAccount',
      async () =>
        (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tokens.admin)) === 200,
      { timeoutMs: 60_000, intervalMs: 250, server: servers[2] },
    );

    // The API server calls kubelets as this user; kubelets authorize it by SubjectAccessReview.
    await createKubeletApiAdminBinding(server, tokens.admin);

    const cluster: Cluster = {
      server,
      caPem,
      clientCaPem: pki.clusterCa.certPem,
      adminKubeconfig,
      adminKubeconfigPath,
      dir,
      startSeconds: (Date.now() - started) / 1000,
      async restartApiServer() {
        // Same port, certificates and etcd: clients see their connections drop and come back.
        const index = servers.indexOf(apiserver);
        await apiserver.stop();
        apiserver = await startApiServer();
        servers[index] = apiserver;
      },
      async restartEtcd() {
        // Same ports and data directory: the API server loses its store and reconnects.
        const index = servers.indexOf(etcd);
        await etcd.stop();
        etcd = await startEtcd();
        servers[index] = etcd;
      },
      async stop() {
        await stop();
        if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

function lastPemCertificate(bundle: string): string {
  const certs = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const last = certs.at(-1);
  if (last === undefined) throw new Error('kube-apiserver wrote no certificate');
  return last + '\n';
}

/** Binds system:kubelet-api-admin to the API server's kubelet client user, as kubeadm does. */
async function createKubeletApiAdminBinding(server: string, adminToken: string): Promise<void> {
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kube-apiserver-kubelet-api-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: kubeletClientUser }],
  };
  const status = await call(
    `${server}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`,
    adminToken,
    'POST',
    binding,
  );
  if (status !== 201 && status !== 409) {
    throw new Error(`creating ClusterRoleBinding ${binding.metadata.name} answered ${status}`);
  }
}

function get(url: string, token: string): Promise<number> {
  return call(url, token, 'GET');
}

/**
 * A request with a bearer token, not verifying TLS (the harness talks to the API server it
 * started, before its CA is read); returns the status.
 */
function call(url: string, token: string, method: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const req = request(url, { method, headers, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end(payload);
  });
}
