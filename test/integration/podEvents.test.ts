import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HttpRequestInit } from '@azure/functions';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { MockProvider } from '../../core/providers/mock/provider.ts';
import { sign, signatureHeader, type Poke } from '../../core/relay/protocol.ts';
import { HttpRequest } from '../../functions/azure.ts';
import { podEventsHandler } from '../../functions/podEvents.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { freshRuntimes, functionSettings, invocation } from '../support/functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from '../support/kube.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode } from '../support/virtualNode.ts';
import { pokeRequest } from '../support/webhook.ts';

const secret = 'a-webhook-secret-of-at-least-32-characters';

describe('the podEvents webhook', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let mock: MockProvider;
  const node = uniqueName('vk-events');
  const namespace = uniqueName('events');

  const call = async (request: ReturnType<typeof pokeRequest>) =>
    podEventsHandler(runtimes)(request, invocation('podEvents').context);
  const pokeFor = (pod: V1Pod, type: Poke['type'] = 'MODIFIED'): Poke => ({
    type,
    namespace,
    name: pod.metadata!.name!,
    uid: pod.metadata!.uid!,
    resourceVersion: pod.metadata!.resourceVersion!,
  });
  const boundPod = async (name: string) => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    let pod: V1Pod | undefined;
    await waitFor(
      `${name} bound`,
      async () => {
        pod = await core.readNamespacedPod({ name, namespace });
        return pod.spec?.nodeName === node;
      },
      { timeoutMs: 30_000 },
    );
    return pod!;
  };

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin, [node]),
        tablePrefix: `ev${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
        extra: { [Setting.webhookSecret]: secret, [Setting.mockStartDelayMs]: '0' },
      }),
    );
    lease = await keepNodeReady(runtimes);
    mock = new MockProvider({
      table: await runtimes().tables.table('mockInstances'),
      startDelayMs: 0,
      now: Date.now,
    });
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  it('starts a pod from one signed poke, without any resync', async () => {
    const pod = await boundPod('poked');
    const response = await call(pokeRequest(secret, node, [pokeFor(pod, 'ADDED')]));
    assert.equal(response.status, 200);
    const instances = (await mock.listPods(node)).filter((v) => v.ref.podUid === pod.metadata!.uid);
    assert.equal(instances.length, 1);
    // The next poke (the pod's own status change) reports it Running.
    const updated = await core.readNamespacedPod({ name: 'poked', namespace });
    assert.equal((await call(pokeRequest(secret, node, [pokeFor(updated)]))).status, 200);
    assert.equal((await core.readNamespacedPod({ name: 'poked', namespace })).status?.phase, 'Running');
  });

  it('hands back, untouched, the pokes it had no time to start', async () => {
    const late = await boundPod('too-late');
    const response = await podEventsHandler(runtimes, { budgetMs: 0 })(
      pokeRequest(secret, node, [pokeFor(late, 'ADDED')]),
      invocation('podEvents').context,
    );
    assert.equal(response.status, 200);
    assert.deepEqual((response.jsonBody as { resend?: string[] }).resend, [late.metadata!.uid]);
    const instances = (await mock.listPods(node)).filter((v) => v.ref.podUid === late.metadata!.uid);
    assert.equal(instances.length, 0, 'no instance was created');
    const now = await core.readNamespacedPod({ name: 'too-late', namespace });
    assert.equal(now.metadata?.resourceVersion, late.metadata?.resourceVersion, 'the pod was not written');
    // Sent again, as the relay does, within a budget: the pod starts.
    const again = await call(pokeRequest(secret, node, [pokeFor(late, 'ADDED')]));
    assert.equal((again.jsonBody as { resend?: string[] }).resend, undefined);
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === late.metadata!.uid).length, 1);
  });

  it('deletes the pod and its instance from DELETED-path pokes', async () => {
    const pod = await boundPod('doomed');
    await call(pokeRequest(secret, node, [pokeFor(pod, 'ADDED')]));
    await core.deleteNamespacedPod({ name: 'doomed', namespace });
    const deleting = await core.readNamespacedPod({ name: 'doomed', namespace });
    assert.equal((await call(pokeRequest(secret, node, [pokeFor(deleting)]))).status, 200);
    await assert.rejects(
      core.readNamespacedPod({ name: 'doomed', namespace }),
      (e: { code?: number }) => e.code === 404,
    );
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === pod.metadata!.uid).length, 0);
  });

  it('deletes the instance of a pod that no longer exists, found by UID', async () => {
    const pod = await boundPod('vanishing');
    await call(pokeRequest(secret, node, [pokeFor(pod, 'ADDED')]));
    // Removed behind Funclet's back (grace 0), so only the DELETED poke says so.
    await core.deleteNamespacedPod({ name: 'vanishing', namespace, gracePeriodSeconds: 0 });
    await waitFor(
      'the pod gone',
      async () =>
        (await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=vanishing' })).items
          .length === 0,
      {
        timeoutMs: 10_000,
      },
    );
    assert.equal((await call(pokeRequest(secret, node, [pokeFor(pod, 'DELETED')]))).status, 200);
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === pod.metadata!.uid).length, 0);
  });

  it('deletes nothing for a signed poke that carries a running pod UID under another name', async () => {
    const pod = await boundPod('impersonated');
    await call(pokeRequest(secret, node, [pokeFor(pod, 'ADDED')]));
    const uid = pod.metadata!.uid!;
    for (const type of ['DELETED', 'MODIFIED', 'RECHECK'] as const) {
      const forged = { ...pokeFor(pod, type), name: 'no-such-pod' };
      const response = await call(pokeRequest(secret, node, [forged]));
      assert.equal(response.status, 200);
      const results = (response.jsonBody as { results: { status: string }[] }).results;
      assert.deepEqual(
        results.map((r) => r.status),
        ['skipped'],
        type,
      );
    }
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === uid).length, 1, 'instance kept');
    const still = await core.readNamespacedPod({ name: 'impersonated', namespace });
    assert.equal(still.metadata?.uid, uid);
    assert.equal(still.metadata?.deletionTimestamp, undefined);
  });

  it('deletes nothing for a poke naming another pod when only the instance knows the UID', async () => {
    const pod = await boundPod('unrecorded');
    await call(pokeRequest(secret, node, [pokeFor(pod, 'ADDED')]));
    const uid = pod.metadata!.uid!;
    // As after a crash between the provider create and the record write: no record, one instance.
    const pods = await runtimes().tables.table('pods');
    await pods.deleteEntity(node, uid);
    const forged = { ...pokeFor(pod, 'DELETED'), name: 'no-such-pod' };
    const response = await call(pokeRequest(secret, node, [forged]));
    assert.equal(response.status, 200);
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === uid).length, 1, 'instance kept');
  });

  it('creates one instance for duplicate pokes, and skips pokes it has already acted on', async () => {
    const pod = await boundPod('dupes');
    const poke = pokeFor(pod, 'ADDED');
    const responses = await Promise.all([
      call(pokeRequest(secret, node, [poke, poke])),
      call(pokeRequest(secret, node, [poke])),
    ]);
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 200],
    );
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === pod.metadata!.uid).length, 1);
    // Once the pod has settled, a repeated poke of the same version is skipped without a reconcile.
    await call(
      pokeRequest(secret, node, [pokeFor(await core.readNamespacedPod({ name: 'dupes', namespace }))]),
    );
    const settled = pokeFor(await core.readNamespacedPod({ name: 'dupes', namespace }));
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const response = await call(pokeRequest(secret, node, [settled]));
      assert.equal(response.status, 200);
      statuses.push(...(response.jsonBody as { results: { status: string }[] }).results.map((r) => r.status));
    }
    assert.deepEqual(statuses.slice(1), ['skipped', 'skipped']);
  });

  it('creates one instance for out-of-order pokes (a newer resourceVersion first, then older ones)', async () => {
    const pod = await boundPod('shuffled');
    const newer = { ...pokeFor(pod), resourceVersion: String(Number(pod.metadata!.resourceVersion!) + 1000) };
    const older = { ...pokeFor(pod, 'ADDED'), resourceVersion: '1' };
    for (const batch of [[newer], [older], [pokeFor(pod, 'ADDED'), older]]) {
      assert.equal((await call(pokeRequest(secret, node, batch))).status, 200);
    }
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === pod.metadata!.uid).length, 1);
    assert.equal((await core.readNamespacedPod({ name: 'shuffled', namespace })).status?.phase, 'Running');
  });

  describe('refuses bad requests without touching anything', () => {
    const cases: [string, number, (pod: V1Pod) => ReturnType<typeof pokeRequest>][] = [
      ['a missing signature', 401, (pod) => pokeRequest(secret, node, [pokeFor(pod)], { signature: null })],
      [
        'a forged signature',
        401,
        (pod) => pokeRequest('not-the-secret-but-just-as-long-as-one', node, [pokeFor(pod)]),
      ],
      [
        'a replayed request (old timestamp)',
        401,
        (pod) => pokeRequest(secret, node, [pokeFor(pod)], { timestampMs: Date.now() - 6 * 60_000 }),
      ],
      ['malformed JSON', 400, () => pokeRequest(secret, node, [], { body: '{"node": "x", "events": [' })],
      [
        'a poke that is not one',
        400,
        () =>
          pokeRequest(secret, node, [], { body: JSON.stringify({ node, events: [{ type: 'EXPLODE' }] }) }),
      ],
      ['an unknown node', 400, (pod) => pokeRequest(secret, 'someone-elses-node', [pokeFor(pod)])],
      [
        'a 2 MiB body',
        413,
        (pod) => {
          const body = JSON.stringify({ node, events: [pokeFor(pod)], pad: 'x'.repeat(2 * 1024 * 1024) });
          return pokeRequest(secret, node, [], { body, signature: sign(secret, body, Date.now()) });
        },
      ],
    ];
    it('a chunked body without Content-Length: 413 once past 1 MiB, without reading the rest', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          // 8 MiB in all, unless the reader stops asking.
          if (sent >= 8 * 1024 * 1024) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const nativeRequest = new Request('http://localhost/api/podEvents', {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { 'content-type': 'application/json', [signatureHeader]: sign(secret, '{}', Date.now()) },
      } as RequestInit);
      assert.equal(nativeRequest.headers.get('content-length'), null);
      const request = new HttpRequest({ nativeRequest } as unknown as HttpRequestInit);
      const response = await call(request);
      assert.equal(response.status, 413);
      assert.ok(sent <= 1024 * 1024 + 2 * chunk.byteLength, `read ${sent} bytes of the body`);
    });

    for (const [what, status, request] of cases) {
      it(`${what}: ${status}`, async () => {
        const pod = await boundPod(uniqueName('untouched'));
        const response = await call(request(pod));
        assert.equal(response.status, status);
        assert.equal(
          (await mock.listPods(node)).filter((v) => v.ref.podUid === pod.metadata!.uid).length,
          0,
          'no instance',
        );
        const after = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace });
        assert.equal(after.metadata?.resourceVersion, pod.metadata?.resourceVersion, 'the pod is unchanged');
        const records = await (
          await runtimes().tables.table('pods')
        )
          .listEntities({ queryOptions: { filter: `RowKey eq '${pod.metadata!.uid!}'` } })
          .next();
        assert.equal(records.done, true, 'no record written');
      });
    }
  });
});
