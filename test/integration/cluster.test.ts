import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  ApiException,
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CertificatesV1Api,
  CoreV1Api,
  KubeConfig,
} from '@kubernetes/client-node';
import { testCertificate } from '../fakes/aci/cert.ts';
import { createPodNamespace, functionKubeconfig, kubeConfigFrom, testAdmin } from '../support/kube.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { mergePatch, strategicMergePatch } from '../../core/kube/clients.ts';

describe('the test control plane', () => {
  let admin: KubeConfig;
  let namespace: string;

  before(async () => {
    admin = testAdmin();
    namespace = uniqueName('cp');
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  });

  after(async () => {
    await admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
  });

  it('runs the deployment and replicaset controllers: 2 replicas become a ReplicaSet and 2 Pending pods', async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    const core = admin.makeApiClient(CoreV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
        },
      },
    });
    await waitFor(
      'a ReplicaSet and 2 pods',
      async () => {
        const sets = await apps.listNamespacedReplicaSet({ namespace });
        const pods = await core.listNamespacedPod({ namespace });
        return sets.items.length === 1 && pods.items.length === 2;
      },
      { timeoutMs: 30_000 },
    );
    const pods = await core.listNamespacedPod({ namespace });
    // No node can run them, so the scheduler leaves them Pending and says why.
    for (const pod of pods.items) assert.equal(pod.status?.phase, 'Pending');
    const owner = pods.items[0]?.metadata?.ownerReferences?.[0];
    assert.equal(owner?.kind, 'ReplicaSet');
  });

  it('lists a Node created with a client', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const name = uniqueName('node');
    await core.createNode({ body: { metadata: { name, labels: { 'funclet.test/node': 'yes' } } } });
    try {
      const nodes = await core.listNode({ labelSelector: 'funclet.test/node=yes' });
      assert.ok(nodes.items.some((n) => n.metadata?.name === name));
    } finally {
      await core.deleteNode({ name });
    }
  });

  it("gives the functions' node credential what a node may do, and 403 for anything else", async () => {
    const node = uniqueName('vk-cluster');
    const fn = kubeConfigFrom(await functionKubeconfig(admin, [node]));
    const core = fn.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace, fieldSelector: `spec.nodeName=${node}` });
    assert.ok(Array.isArray(pods.items));

    const forbidden = [
      () => fn.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace }),
      () => core.listNamespacedSecret({ namespace }),
      () => core.createNamespace({ body: { metadata: { name: uniqueName('nope') } } }),
    ];
    for (const call of forbidden) {
      await assert.rejects(call, (err: unknown) => err instanceof ApiException && err.code === 403);
    }
  });
});

describe('the test control plane as a real cluster sets it up', () => {
  let admin: KubeConfig;

  before(() => {
    admin = testAdmin();
  });

  it('publishes the cluster CA as client-ca-file in extension-apiserver-authentication', async () => {
    const config = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace: 'kube-system', name: 'extension-apiserver-authentication' });
    assert.equal(config.data?.['client-ca-file']?.trim(), testEnv().cluster.clientCaPem.trim());
    // Aggregated API servers (metrics-server) trust the front proxy by these.
    assert.ok(config.data?.['requestheader-client-ca-file']?.includes('BEGIN CERTIFICATE'));
    assert.equal(config.data?.['requestheader-allowed-names'], '["front-proxy-client"]');
  });

  it('signs an approved kubelet CSR; the certificate authenticates as the node, confined to its own Node', async () => {
    const name = uniqueName('csr-node');
    const { keyPem, csrPem } = newKeyAndCsr(`/O=system:nodes/CN=system:node:${name}`);
    const certificates = admin.makeApiClient(CertificatesV1Api);
    await certificates.createCertificateSigningRequest({
      body: {
        metadata: { name },
        spec: {
          request: Buffer.from(csrPem).toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
          usages: ['digital signature', 'client auth'],
          expirationSeconds: 3600,
        },
      },
    });
    const core = admin.makeApiClient(CoreV1Api);
    const otherNode = uniqueName('other-node');
    try {
      await approve(certificates, name);
      let certificate = '';
      await waitFor(
        `a certificate for CSR ${name}`,
        async () => {
          const csr = await certificates.readCertificateSigningRequest({ name });
          certificate = csr.status?.certificate ?? '';
          return certificate !== '';
        },
        { timeoutMs: 30_000 },
      );

      const asNode = clientCertificateConfig(Buffer.from(certificate, 'base64').toString('utf8'), keyPem);
      const review = await asNode.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      assert.equal(review.status?.userInfo?.username, `system:node:${name}`);
      assert.ok(review.status?.userInfo?.groups?.includes('system:nodes'));

      // The Node authorizer lets a node create Nodes; NodeRestriction admits only its own.
      const nodeCore = asNode.makeApiClient(CoreV1Api);
      await nodeCore.createNode({ body: { metadata: { name } } });
      await assert.rejects(
        () => nodeCore.createNode({ body: { metadata: { name: otherNode } } }),
        (err: unknown) =>
          err instanceof ApiException &&
          err.code === 403 &&
          String(err.body).includes('is not allowed to modify node'),
      );
    } finally {
      await certificates.deleteCertificateSigningRequest({ name });
      await Promise.allSettled([core.deleteNode({ name }), core.deleteNode({ name: otherNode })]);
    }
  });

  it("calls a node's kubelet endpoint at its InternalIP with the kubelet client certificate for pod logs", async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const { clientCaPem } = testEnv().cluster;
    const { keyPem, certPem } = testCertificate();
    // A kubelet stand-in for one request: it reports who called and whether the cluster CA signed them.
    const kubelet = createServer(
      { key: keyPem, cert: certPem, ca: clientCaPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        const subject = socket.getPeerCertificate().subject as { CN?: string } | undefined;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(
          `caller=${subject?.CN ?? 'none'} verified=${String(socket.authorized)} path=${req.url ?? ''}`,
        );
      },
    );
    await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
    const port = (kubelet.address() as AddressInfo).port;
    const node = uniqueName('kubelet-node');
    const namespace = uniqueName('kubelet');
    try {
      await core.createNode({ body: { metadata: { name: node } } });
      // A patch, not a replace: the node lifecycle controller writes a new Node at once (its
      // taints), and a replace carrying the read resourceVersion can lose that race with a 409.
      await core.patchNodeStatus(
        {
          name: node,
          body: {
            status: {
              addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
              daemonEndpoints: { kubeletEndpoint: { Port: port } },
            },
          },
        },
        strategicMergePatch,
      );
      await createPodNamespace(core, namespace);
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'app' },
          spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox:1.36' }] },
        },
      });

      const logs = await core.readNamespacedPodLog({ namespace, name: 'app', container: 'app' });
      assert.equal(
        logs,
        `caller=kube-apiserver-kubelet-client verified=true path=/containerLogs/${namespace}/app/app`,
      );
      // A kubelet authorizes that caller with a SubjectAccessReview: system:kubelet-api-admin allows it.
      const review = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: {
          spec: {
            user: 'kube-apiserver-kubelet-client',
            resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy', name: node },
          },
        },
      });
      assert.equal(review.status?.allowed, true);
    } finally {
      await new Promise((resolve) => kubelet.close(resolve));
      await Promise.allSettled([core.deleteNamespace({ name: namespace }), core.deleteNode({ name: node })]);
    }
  });
});

describe('metrics-server, registered as the APIService v1beta1.metrics.k8s.io', () => {
  const kubectl = async (...args: string[]) =>
    (
      await promisify(execFile)('kubectl', ['--kubeconfig', testEnv().cluster.adminKubeconfigPath, ...args], {
        timeout: 20_000,
      })
    ).stdout;

  it('is Available, and kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes answers with a NodeMetricsList', async () => {
    const available = await kubectl(
      'get',
      'apiservice',
      'v1beta1.metrics.k8s.io',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Available")].status}',
    );
    assert.equal(available, 'True');
    const list = JSON.parse(await kubectl('get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes')) as {
      kind?: string;
    };
    assert.equal(list.kind, 'NodeMetricsList');
  });

  it("scrapes a node's kubelet endpoint with its ServiceAccount token, and kubectl top node shows the usage", async () => {
    const admin = testAdmin();
    const core = admin.makeApiClient(CoreV1Api);
    const { keyPem, certPem } = testCertificate();
    const scrapes: { path: string; token: string }[] = [];
    // A kubelet's /metrics/resource: half a core busy, 256 MiB in use.
    const kubelet = createServer({ key: keyPem, cert: certPem }, (req, res) => {
      scrapes.push({ path: req.url ?? '', token: (req.headers.authorization ?? '').replace(/^Bearer /, '') });
      const nowMs = Date.now();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        '# TYPE node_cpu_usage_seconds_total counter\n' +
          `node_cpu_usage_seconds_total ${(nowMs / 1000) * 0.5} ${nowMs}\n` +
          '# TYPE node_memory_working_set_bytes gauge\n' +
          `node_memory_working_set_bytes ${256 * 1024 * 1024} ${nowMs}\n`,
      );
    });
    await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
    const port = (kubelet.address() as AddressInfo).port;
    const node = uniqueName('metrics-node');
    try {
      await core.createNode({ body: { metadata: { name: node } } });
      // A merge patch, not a replace: the node lifecycle controller writes the new Node too, and
      // a replace from a read before its write is refused with a conflict.
      await core.patchNodeStatus(
        {
          name: node,
          body: {
            status: {
              capacity: { cpu: '4', memory: '8Gi', pods: '10' },
              allocatable: { cpu: '4', memory: '8Gi', pods: '10' },
              addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
              daemonEndpoints: { kubeletEndpoint: { Port: port } },
            },
          },
        },
        mergePatch,
      );

      // A node's usage is a rate: it shows after two scrapes, 15 s (--metric-resolution) apart.
      let top = '';
      await waitFor(
        `kubectl top node ${node}`,
        async () => {
          top = await kubectl('top', 'node', node, '--no-headers').catch(() => '');
          return top !== '';
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      const [name, cpu, , memory] = top.trim().split(/\s+/);
      assert.equal(name, node);
      assert.ok(/^(499|500|501)m$/.test(cpu ?? ''), `CPU ${cpu} is half a core`);
      assert.equal(memory, '256Mi');

      assert.equal(scrapes[0]?.path, '/metrics/resource');
      const review = await admin.makeApiClient(AuthenticationV1Api).createTokenReview({
        body: { spec: { token: scrapes[0]?.token ?? '' } },
      });
      assert.equal(review.status?.user?.username, 'system:serviceaccount:kube-system:metrics-server');
    } finally {
      await new Promise((resolve) => kubelet.close(resolve));
      await core.deleteNode({ name: node });
    }
  });
});

/** A new EC key and a CSR for `subject`, made with openssl. */
function newKeyAndCsr(subject: string): { keyPem: string; csrPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'funclet-csr-'));
  try {
    const [key, csr] = [join(dir, 'key.pem'), join(dir, 'csr.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        subject,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { keyPem: readFileSync(key, 'utf8'), csrPem: readFileSync(csr, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Adds the Approved condition unless the CSR has it already (the approving controller may be first). */
async function approve(certificates: CertificatesV1Api, name: string): Promise<void> {
  await waitFor(
    `approving CSR ${name}`,
    async () => {
      const csr = await certificates.readCertificateSigningRequest({ name });
      const conditions = csr.status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Approved')) return true;
      csr.status = {
        ...csr.status,
        conditions: [
          ...conditions,
          { type: 'Approved', status: 'True', reason: 'FuncletTest', message: 'approved by the test admin' },
        ],
      };
      await certificates.replaceCertificateSigningRequestApproval({ name, body: csr });
      return true;
    },
    { timeoutMs: 10_000 },
  );
}

function clientCertificateConfig(certPem: string, keyPem: string): KubeConfig {
  const { server, caPem } = testEnv().cluster;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server, caData: Buffer.from(caPem).toString('base64') }],
    users: [
      {
        name: 'node',
        certData: Buffer.from(certPem).toString('base64'),
        keyData: Buffer.from(keyPem).toString('base64'),
      },
    ],
    contexts: [{ name: 'test', cluster: 'test', user: 'node' }],
    currentContext: 'test',
  });
  return kc;
}
