import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { kubePodSource } from '../../../core/relay/kubePodSource.ts';
import { ApiStatusError, isGone, podIntent, type PodWatchEvent } from '../../../core/relay/podSource.ts';

type Handler = (request: IncomingMessage, url: URL, response: ServerResponse) => void;

const podObject = (name: string, rv: string) => ({
  kind: 'Pod',
  metadata: { namespace: 'ns', name, uid: `uid-${name}`, resourceVersion: rv },
  spec: { nodeName: 'vk-a', containers: [{ name: 'c', image: 'x' }] },
});
const line = (o: unknown) => JSON.stringify(o) + '\n';

/** A loopback stand-in for the API server's /api/v1/pods; each test says how it answers. */
describe('the API server pod source', () => {
  let server: Server;
  let handler: Handler = () => undefined;
  let seen: { url: URL; authorization: string | undefined }[] = [];
  let source: ReturnType<typeof kubePodSource>;

  before(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      seen.push({ url, authorization: request.headers.authorization });
      handler(request, url, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 'relay-token' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    source = kubePodSource(kc);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const reset = (h: Handler) => {
    handler = h;
    seen = [];
  };

  it('lists one page of the node’s pods across namespaces with the token, a field selector and the continue token', async () => {
    reset((_req, _url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'PodList',
          metadata: { resourceVersion: '4711', continue: 'next-page' },
          items: [podObject('a', '10'), podObject('b', '11')],
        }),
      );
    });
    const page = await source.listPods(
      'vk-a',
      { limit: 500, continue: 'this-page' },
      new AbortController().signal,
    );
    assert.deepEqual(page, {
      pods: [
        {
          namespace: 'ns',
          name: 'a',
          uid: 'uid-a',
          resourceVersion: '10',
          intent: podIntent(podObject('a', '10')),
        },
        {
          namespace: 'ns',
          name: 'b',
          uid: 'uid-b',
          resourceVersion: '11',
          intent: podIntent(podObject('b', '11')),
        },
      ],
      resourceVersion: '4711',
      continue: 'next-page',
    });
    const [request] = seen;
    assert.equal(request?.url.pathname, '/api/v1/pods');
    assert.deepEqual(Object.fromEntries(request.url.searchParams), {
      fieldSelector: 'spec.nodeName=vk-a',
      limit: '500',
      continue: 'this-page',
    });
    assert.equal(request.authorization, 'Bearer relay-token');
  });

  it('streams a watch with bookmarks from a resourceVersion, across chunk boundaries, until the server ends it', async () => {
    reset((_req, _url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const added = line({ type: 'ADDED', object: podObject('a', '12') });
      res.write(added.slice(0, 20));
      setImmediate(() => {
        res.write(
          added.slice(20) +
            line({ type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '15' } } }),
        );
        res.end(line({ type: 'DELETED', object: podObject('a', '16') }));
      });
    });
    const events: PodWatchEvent[] = [];
    let opened = false;
    await source.watchPods(
      'vk-a',
      { resourceVersion: '11', timeoutSeconds: 300 },
      { onOpen: () => (opened = true), onEvent: (e) => events.push(e) },
      new AbortController().signal,
    );
    assert.equal(opened, true);
    assert.deepEqual(events, [
      {
        type: 'ADDED',
        pod: {
          namespace: 'ns',
          name: 'a',
          uid: 'uid-a',
          resourceVersion: '12',
          intent: podIntent(podObject('a', '12')),
        },
      },
      { type: 'BOOKMARK', resourceVersion: '15' },
      {
        type: 'DELETED',
        pod: {
          namespace: 'ns',
          name: 'a',
          uid: 'uid-a',
          resourceVersion: '16',
          intent: podIntent(podObject('a', '16')),
        },
      },
    ]);
    assert.deepEqual(Object.fromEntries(seen[0]!.url.searchParams), {
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: '11',
      timeoutSeconds: '300',
      fieldSelector: 'spec.nodeName=vk-a',
    });
  });

  it('digests what a kubelet acts on: a status-only change keeps the intent, spec, labels, annotations and deletion change it', () => {
    const base = {
      ...podObject('a', '10'),
      metadata: { ...podObject('a', '10').metadata, labels: { app: 'web' }, annotations: { a: '1' } },
      status: { phase: 'Pending' },
    };
    const same = [
      { ...base, status: { phase: 'Running', podIP: '10.0.0.1' } },
      { ...base, metadata: { ...base.metadata, resourceVersion: '11', managedFields: [{ manager: 'x' }] } },
    ];
    for (const o of same) assert.equal(podIntent(o), podIntent(base));
    const changed = [
      { ...base, spec: { ...base.spec, activeDeadlineSeconds: 5 } },
      { ...base, metadata: { ...base.metadata, labels: { app: 'db' } } },
      { ...base, metadata: { ...base.metadata, annotations: { a: '2' } } },
      { ...base, metadata: { ...base.metadata, deletionTimestamp: '2026-11-23T10:00:00Z' } },
      { ...base, metadata: { ...base.metadata, deletionGracePeriodSeconds: 0 } },
    ];
    for (const o of changed) assert.notEqual(podIntent(o), podIntent(base), JSON.stringify(o));
  });

  it('turns a watch ERROR event carrying 410 Expired into a Gone error', async () => {
    reset((_req, _url, res) => {
      res.writeHead(200);
      res.end(
        line({
          type: 'ERROR',
          object: {
            kind: 'Status',
            status: 'Failure',
            message: 'too old resource version: 1 (4000)',
            reason: 'Expired',
            code: 410,
          },
        }),
      );
    });
    const watching = source.watchPods(
      'vk-a',
      { resourceVersion: '1', timeoutSeconds: 300 },
      { onOpen: () => undefined, onEvent: () => undefined },
      new AbortController().signal,
    );
    await assert.rejects(
      watching,
      (err) => isGone(err) && /too old resource version/.test((err as Error).message),
    );
  });

  it('reports an HTTP failure with its status code and the API server’s message', async () => {
    reset((_req, _url, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          message: 'pods is forbidden: cannot watch',
          reason: 'Forbidden',
          code: 403,
        }),
      );
    });
    await assert.rejects(
      source.listPods('vk-a', { limit: 500 }, new AbortController().signal),
      (err) =>
        err instanceof ApiStatusError &&
        err.statusCode === 403 &&
        err.reason === 'Forbidden' &&
        /cannot watch/.test(err.message),
    );
    reset((_req, _url, res) => {
      res.writeHead(410);
      res.end();
    });
    await assert.rejects(
      source.watchPods(
        'vk-a',
        { resourceVersion: '1', timeoutSeconds: 300 },
        { onOpen: () => undefined, onEvent: () => undefined },
        new AbortController().signal,
      ),
      isGone,
    );
  });

  it('treats a connection cut mid-stream as a failure, not as the watch ending', async () => {
    reset((_req, _url, res) => {
      res.writeHead(200);
      res.write(line({ type: 'ADDED', object: podObject('a', '12') }));
      setImmediate(() => res.socket?.destroy());
    });
    const events: PodWatchEvent[] = [];
    await assert.rejects(
      source.watchPods(
        'vk-a',
        { resourceVersion: '11', timeoutSeconds: 300 },
        { onOpen: () => undefined, onEvent: (e) => events.push(e) },
        new AbortController().signal,
      ),
    );
    assert.equal(events.length, 1, 'the event before the cut was delivered');
  });

  it('closes the connection when the caller aborts', async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    reset((req, _url, res) => {
      res.writeHead(200);
      res.write('');
      req.socket.once('close', () => closed());
    });
    const abort = new AbortController();
    const watching = source.watchPods(
      'vk-a',
      { resourceVersion: '11', timeoutSeconds: 300 },
      { onOpen: () => abort.abort(), onEvent: () => undefined },
      abort.signal,
    );
    await assert.rejects(watching);
    await connectionClosed;
  });
});
