/**
 * The function code under node identity, against the real API server with the Node authorizer
 * and NodeRestriction: every call it makes is one the API server allows a node for its own
 * objects; the node's own credential is refused everything a kubelet is refused; and the
 * credential renews itself before it expires.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ApiException,
  AuthorizationV1Api,
  CertificatesV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  V1MicroTime,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { serviceAccountFallbackKubeconfig } from '../../cli/identity.ts';
import { mergePatch } from '../../core/kube/clients.ts';
import { nodeCertificateOf } from '../../core/kube/kubeconfig.ts';
import { memoryKubeconfigStore } from '../../core/kube/kubeconfigStore.ts';
import { credentialRenewalHandler } from '../../functions/credentialRenewal.ts';
import { leaseRenewHandler } from '../../functions/leaseRenew.ts';
import { createRuntime } from '../../functions/runtime.ts';
import { uniqueName } from '../support/env.ts';
import { functionSettings, invocation, timer } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, kubeConfigFrom, testAdmin } from '../support/kube.ts';
import { waitFor } from '../support/process.ts';
import { apiCallsFrom } from '../unit/rbac/apiCalls.ts';

const statusOf = async (call: () => Promise<unknown>): Promise<number> => {
  try {
    await call();
    return 200;
  } catch (err) {
    return err instanceof ApiException ? err.code : -1;
  }
};

describe('the functions under node identity', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  const namespace = uniqueName('nodeid');
  const [mine, other] = [uniqueName('vk-mine'), uniqueName('vk-other')];
  let asNode: KubeConfig;
  const tablePrefix = `nodeid${Math.random().toString(36).slice(2, 8)}`;

  /** A pod bound to `node` (no scheduler involved), using a ConfigMap, a Secret and the default ServiceAccount. */
  const boundPod = (name: string, node: string) =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          nodeName: node,
          containers: [
            {
              name: 'app',
              image: 'busybox',
              env: [
                { name: 'A', valueFrom: { configMapKeyRef: { name: 'used-config', key: 'a' } } },
                { name: 'B', valueFrom: { secretKeyRef: { name: 'used-secret', key: 'b' } } },
              ],
            },
          ],
          tolerations: [{ operator: 'Exists' }],
        },
      },
    });

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'used-config' }, data: { a: '1' } },
    });
    for (const name of ['used-secret', 'unused-secret'])
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name }, stringData: { b: 's3cr3t' } },
      });
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'unused-account' } } });
    const kubeconfig = await functionKubeconfig(admin, [mine, other]);
    // Both nodes register as themselves, each with its Lease.
    const env = functionSettings({
      kubeconfig,
      tablePrefix,
      nodes: [
        { name: mine, provider: 'mock' },
        { name: other, provider: 'mock' },
      ],
    });
    await leaseRenewHandler(() => createRuntime({ env }))(timer(), invocation('leaseRenew').context);
    await boundPod('on-mine', mine);
    await boundPod('on-other', other);
    asNode = kubeConfigFrom(kubeconfig);
    asNode.setCurrentContext(mine);
  });

  after(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    for (const name of [mine, other]) await core.deleteNode({ name }).catch(() => undefined);
  });

  it('makes only calls the API server allows a node, for its own node and the pods bound to it', async () => {
    const pod = await core.readNamespacedPod({ namespace, name: 'on-mine' });
    // The attributes each request has when the code makes it for its own objects.
    const attributes: Record<string, V1ResourceAttributes> = {
      'get nodes': { name: mine },
      'create nodes': {},
      'patch nodes': { name: mine },
      'patch nodes/status': { name: mine },
      'get leases': { namespace: 'kube-node-lease', name: mine },
      'create leases': { namespace: 'kube-node-lease' },
      'update leases': { namespace: 'kube-node-lease', name: mine },
      'get pods': { namespace, name: 'on-mine' },
      'list pods': { namespace, fieldSelector: { rawSelector: `spec.nodeName=${mine}` } },
      'delete pods': { namespace, name: 'on-mine' },
      'patch pods/status': { namespace, name: 'on-mine' },
      'get configmaps': { namespace, name: 'used-config' },
      'get secrets': { namespace, name: 'used-secret' },
      'list services': { namespace },
      'create serviceaccounts/token': { namespace, name: pod.spec?.serviceAccountName ?? 'default' },
      'create events': { namespace },
      'create certificatesigningrequests': {},
      'get certificatesigningrequests': { name: `node-client-${mine}-0` },
    };
    const calls = new Map(apiCallsFrom('functions/app.ts').map((c) => [`${c.verb} ${c.resource}`, c]));
    assert.deepEqual(
      [...calls.keys()].filter((k) => !(k in attributes)),
      [],
      'every request the code makes has its attributes here',
    );
    const authorization = admin.makeApiClient(AuthorizationV1Api);
    const allowed = async (key: string) => {
      const call = calls.get(key)!;
      const [resource, subresource] = call.resource.split('/');
      const review = await authorization.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:node:${mine}`,
            groups: ['system:nodes', 'system:authenticated'],
            resourceAttributes: {
              group: call.group,
              verb: call.verb,
              resource,
              subresource,
              ...attributes[key],
            },
          },
        },
      });
      return review.status?.allowed === true ? true : `${key}: ${review.status?.reason ?? 'denied'}`;
    };
    // The Node authorizer learns of new pods from a watch: wait for it to see ours.
    await waitFor(
      'the Node authorizer to know the pod',
      async () => (await allowed('get secrets')) === true,
      {
        timeoutMs: 20_000,
      },
    );
    const denied = [];
    for (const key of calls.keys()) {
      const answer = await allowed(key);
      if (answer !== true) denied.push(answer);
    }
    assert.deepEqual(denied, []);
  });

  it('is refused a Secret no pod on its node uses, and can read one that a pod does', async () => {
    const as = asNode.makeApiClient(CoreV1Api);
    assert.equal(await statusOf(() => as.readNamespacedSecret({ namespace, name: 'used-secret' })), 200);
    assert.equal(await statusOf(() => as.readNamespacedSecret({ namespace, name: 'unused-secret' })), 403);
  });

  it("is refused patching another node or another node's Lease, and may patch its own", async () => {
    const as = asNode.makeApiClient(CoreV1Api);
    const leases = asNode.makeApiClient(CoordinationV1Api);
    const label = { metadata: { labels: { 'node.kubernetes.io/touched': 'yes' } } };
    assert.equal(await statusOf(() => as.patchNode({ name: mine, body: label }, mergePatch)), 200);
    assert.equal(await statusOf(() => as.patchNode({ name: other, body: label }, mergePatch)), 403);
    const renew = { spec: { renewTime: new V1MicroTime(Date.now()) } };
    const patchLease = (name: string) =>
      leases.patchNamespacedLease({ namespace: 'kube-node-lease', name, body: renew }, mergePatch);
    assert.equal(await statusOf(() => patchLease(mine)), 200);
    assert.equal(await statusOf(() => patchLease(other)), 403);
  });

  it('is refused patching the status of a pod on another node, and may patch its own', async () => {
    const as = asNode.makeApiClient(CoreV1Api);
    const body = { status: { message: 'set by a node' } };
    assert.equal(
      await statusOf(() => as.patchNamespacedPodStatus({ namespace, name: 'on-mine', body }, mergePatch)),
      200,
    );
    assert.equal(
      await statusOf(() => as.patchNamespacedPodStatus({ namespace, name: 'on-other', body }, mergePatch)),
      403,
    );
  });

  it('is refused a token for a ServiceAccount none of its pods uses, and gets one bound to its own pod', async () => {
    const as = asNode.makeApiClient(CoreV1Api);
    const pod = await core.readNamespacedPod({ namespace, name: 'on-mine' });
    const token = (name: string) =>
      as.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: {
          spec: {
            audiences: [],
            expirationSeconds: 600,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'on-mine', uid: pod.metadata!.uid! },
          },
        },
      });
    assert.equal(await statusOf(() => token(pod.spec!.serviceAccountName!)), 200);
    assert.equal(await statusOf(() => token('unused-account')), 403);
  });
});

describe("a node's credential renews itself before it expires", () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  const names: string[] = [];
  const tablePrefix = `renew${Math.random().toString(36).slice(2, 8)}`;

  before(() => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
  });

  after(async () => {
    for (const name of names) await core.deleteNode({ name }).catch(() => undefined);
  });

  const renewal = async (kubeconfig: string, node: string, nowMs: number) => {
    const store = memoryKubeconfigStore(kubeconfig);
    const env = functionSettings({ kubeconfig, tablePrefix, nodes: [{ name: node, provider: 'mock' }] });
    const runtime = createRuntime({ env, now: () => nowMs, kubeconfigStore: store });
    const captured = invocation('credentialRenewal');
    await credentialRenewalHandler(() => runtime)(timer(), captured.context);
    return { store, runtime, lines: captured.lines };
  };

  it('a certificate past 70% of its life: a new key, a CSR the node makes and the controller approves, written back', async () => {
    const node = uniqueName('vk-renew');
    names.push(node);
    const kubeconfig = await functionKubeconfig(admin, [node], { expirationSeconds: 600 });
    const first = nodeCertificateOf(kubeconfig, node)!;
    const cert = new X509Certificate(first.certPem);
    const [from, to] = [Date.parse(cert.validFrom), Date.parse(cert.validTo)];

    const early = await renewal(kubeconfig, node, from + 0.5 * (to - from));
    assert.equal(early.store.writes, 0, 'half way through its life it is kept');

    const due = await renewal(kubeconfig, node, from + 0.8 * (to - from));
    assert.equal(due.store.writes, 1);
    const renewed = nodeCertificateOf(await due.store.read(), node)!;
    assert.ok(renewed.keyPem !== first.keyPem, 'a new key');
    const next = new X509Certificate(renewed.certPem);
    assert.notEqual(next.serialNumber, cert.serialNumber);
    assert.match(next.subject, new RegExp(`CN=system:node:${node}`));
    assert.ok(Date.parse(next.validTo) > to, 'valid for longer');
    assert.ok(due.runtime.kubeconfig() === (await due.store.read()), 'the instance uses it at once');
    assert.ok(!JSON.stringify(due.lines).includes(renewed.keyPem.split('\n')[1]!), 'the key is never logged');

    // The node asked for it itself, and csrapproving approved it as selfnodeclient.
    const requests = await admin
      .makeApiClient(CertificatesV1Api)
      .listCertificateSigningRequest({ labelSelector: `funclet.io/node=${node}` });
    const own = requests.items.find((r) => r.spec.username === `system:node:${node}`);
    assert.ok(own, 'a CSR made by the node');
    assert.equal(own.status?.conditions?.find((c) => c.type === 'Approved')?.reason, 'AutoApproved');

    // And the renewed credential works: the node can read itself with it.
    const as = kubeConfigFrom(await due.store.read());
    as.setCurrentContext(node);
    await core.createNode({ body: { metadata: { name: node } } }).catch(() => undefined);
    assert.equal(await statusOf(() => as.makeApiClient(CoreV1Api).readNode({ name: node })), 200);
  });

  it("the ServiceAccount fallback's token, through a TokenRequest for its own ServiceAccount", async () => {
    const node = uniqueName('vk-renew-sa');
    names.push(node);
    const { kubeconfig } = await serviceAccountFallbackKubeconfig(admin, [node], {
      expirationSeconds: 600,
      revokeOthers: false,
    });
    const exp = (text: string) => {
      const token = (JSON.parse(text) as { users: { user: { token: string } }[] }).users[0]!.user.token;
      return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
        exp: number;
        iat: number;
      };
    };
    const { iat, exp: until } = exp(kubeconfig);
    const due = await renewal(kubeconfig, node, (iat + 0.8 * (until - iat)) * 1000);
    assert.equal(due.store.writes, 1);
    const renewed = await due.store.read();
    assert.ok(renewed !== kubeconfig, 'a new token');
    assert.ok(exp(renewed).exp >= until, 'that lasts at least as long');
    const as = kubeConfigFrom(renewed).makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: node } } }).catch(() => undefined);
    assert.equal(await statusOf(() => as.readNode({ name: node })), 200, 'and works');
  });

  it('refuses to let a credential lapse silently when it has nowhere to write the renewed one', async () => {
    const node = uniqueName('vk-renew-nostore');
    names.push(node);
    const kubeconfig = await functionKubeconfig(admin, [node], { expirationSeconds: 600 });
    const cert = new X509Certificate(nodeCertificateOf(kubeconfig, node)!.certPem);
    const env = functionSettings({ kubeconfig, tablePrefix, nodes: [{ name: node, provider: 'mock' }] });
    const captured = invocation('credentialRenewal');
    const late = Date.parse(cert.validTo) - 60_000;
    await assert.rejects(
      credentialRenewalHandler(() => createRuntime({ env, now: () => late }))(timer(), captured.context),
      /FUNCLET_KUBECONFIG_SECRET_URI does not say where FUNCLET_KUBECONFIG is kept/,
    );
  });
});
