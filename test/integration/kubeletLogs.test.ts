import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Setting } from '../../core/config.ts';
import type { HttpFunction } from '../../cli/httpHost.ts';
import { serviceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import { eventPathFixture, type EventPathFixture } from '../support/eventPathFixture.ts';
import { kubectl, kubectlStream } from '../support/kubectl.ts';
import { waitFor } from '../support/process.ts';
import { onVirtualNode, resyncUntil } from '../support/virtualNode.ts';
import { aciUnderTest } from '../e2e/providers.ts';
import type { ProviderName } from '../../core/providers/types.ts';

/** What a test pod's containers write and how they end, as each provider's backend scripts it. */
interface Script {
  lines?: string;
  everySeconds?: number;
  exitCode?: number;
  exitAfterSeconds?: number;
}

function scripted(
  provider: ProviderName,
  s: Script,
): { annotations: Record<string, string>; env: { name: string; value: string }[] } {
  const pairs: [string, string | number | undefined][] =
    provider === 'mock'
      ? [
          ['funclet.io/mock-log', s.lines],
          ['funclet.io/mock-log-every-seconds', s.everySeconds],
          ['funclet.io/mock-exit-code', s.exitCode],
          ['funclet.io/mock-exit-after-seconds', s.exitAfterSeconds],
        ]
      : [
          ['FAKE_ACI_LOG_LINES', s.lines],
          ['FAKE_ACI_LOG_EVERY_SECONDS', s.everySeconds],
          ['FAKE_ACI_EXIT_CODE', s.exitCode],
          ['FAKE_ACI_EXIT_AFTER_SECONDS', s.exitAfterSeconds],
        ];
  const set = pairs
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => [k, String(v)] as const);
  return provider === 'mock'
    ? { annotations: Object.fromEntries(set), env: [] }
    : { annotations: {}, env: set.map(([name, value]) => ({ name, value })) };
}

const rfc3339Nano = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /;

for (const providerName of ['mock', 'aci'] as const) {
  describe(`kubectl logs on a ${providerName} virtual node, through the relay kubelet endpoint`, () => {
    let f: EventPathFixture;
    /** Requests that reached the kubeletApi function, by op. */
    const reached: string[] = [];
    const counting =
      (handler: HttpFunction): HttpFunction =>
      async (req, ctx) => {
        const body = await req.clone().text();
        reached.push((JSON.parse(body) as { op?: string }).op ?? '?');
        return handler(req, ctx);
      };

    let stopBackend = (): Promise<void> => Promise.resolve();

    before(async () => {
      const backend = providerName === 'aci' ? await aciUnderTest() : undefined;
      if (backend) stopBackend = () => backend.stop();
      f = await eventPathFixture(`logs-${providerName}`, {
        startDelayMs: 300,
        wrapKubeletApi: counting,
        extra: { [Setting.restartBackoffMs]: '1000' },
        provider: backend,
      });
      await waitFor(
        'the node to post the relay as its InternalIP',
        async () => {
          const node = await f.core.readNode({ name: f.node });
          return (
            node.status?.addresses?.some((a) => a.type === 'InternalIP' && a.address === '127.0.0.1') === true
          );
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    });

    after(async () => {
      await f?.stop();
      await stopBackend();
    });

    const runPod = async (name: string, script: Script, restartPolicy = 'Never') => {
      const { annotations, env } = scripted(providerName, script);
      await f.core.createNamespacedPod({
        namespace: f.namespace,
        body: {
          metadata: { name, annotations },
          spec: {
            ...onVirtualNode(f.node),
            restartPolicy,
            containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], env }],
          },
        },
      });
      await resyncUntil(
        f.runtimes,
        `pod ${name} Running`,
        async () =>
          (await f.core.readNamespacedPod({ name, namespace: f.namespace })).status?.phase === 'Running',
        { passes: 60, pauseMs: 250 },
      );
    };

    it('posts the relay address and the port it serves the node on', async () => {
      const node = await f.core.readNode({ name: f.node });
      assert.deepEqual(
        node.status?.addresses?.map((a) => ({ type: a.type, address: a.address })),
        [{ type: 'InternalIP', address: '127.0.0.1' }],
      );
      assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, f.kubeletPort);
    });

    it('prints what the container wrote, with --tail, --timestamps and --limit-bytes', async () => {
      await runPod('hello', { lines: 'first line\nsecond line\nthird line' });
      const all = await kubectl(['logs', '-n', f.namespace, 'hello']);
      assert.equal(all.stderr, '');
      assert.equal(all.code, 0);
      assert.equal(all.stdout, 'first line\nsecond line\nthird line\n');

      const tail = await kubectl(['logs', '-n', f.namespace, 'hello', '--tail=1']);
      assert.equal(tail.stdout, 'third line\n');

      const stamped = await kubectl(['logs', '-n', f.namespace, 'hello', '--timestamps', '-c', 'app']);
      const lines = stamped.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 3);
      for (const line of lines) assert.match(line, rfc3339Nano);
      assert.deepEqual(
        lines.map((l) => l.replace(rfc3339Nano, '')),
        ['first line', 'second line', 'third line'],
      );

      const limited = await kubectl(['logs', '-n', f.namespace, 'hello', '--limit-bytes=8']);
      assert.equal(limited.stdout, 'first li');
    });

    it('with --since, prints only lines written in that window', async () => {
      await runPod('ticking', { everySeconds: 1 });
      await new Promise((r) => setTimeout(r, 5000));
      const all = (await kubectl(['logs', '-n', f.namespace, 'ticking'])).stdout.trimEnd().split('\n');
      assert.ok(all.length >= 4, `at least 4 ticks after 5 s, got ${all.length}`);
      const askedAtMs = Date.now();
      const recent = (
        await kubectl(['logs', '-n', f.namespace, 'ticking', '--since=2s', '--timestamps'])
      ).stdout
        .trimEnd()
        .split('\n');
      assert.ok(recent.length >= 1 && recent.length <= 3, `1-3 ticks in the last 2 s, got ${recent.length}`);
      for (const line of recent) {
        const at = Date.parse(line.split(' ')[0]!);
        assert.ok(at >= askedAtMs - 2000 - 250, `${line} is within the last 2 s`);
      }
    });

    it('follows with -f: prints lines written after it started, each once, and exits when the container ends', async () => {
      await runPod('follow', { everySeconds: 1, exitCode: 0, exitAfterSeconds: 6 });
      const startedAt = Date.now();
      const follow = kubectlStream(['logs', '-f', '-n', f.namespace, 'follow']);
      const code = await Promise.race([
        follow.exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000)),
      ]);
      if (code === 'hung') follow.kill();
      assert.equal(code, 0, `kubectl logs -f exits by itself once the container ends: ${follow.stderr()}`);
      const texts = follow.lines.map((l) => l.text);
      assert.deepEqual(
        texts,
        Array.from({ length: texts.length }, (_, i) => `app tick ${i + 1}`),
        'every tick once, in order',
      );
      assert.ok(texts.length >= 5, `ticks up to the exit at 6 s, got ${texts.length}`);
      assert.ok(
        follow.lines.some((l) => l.seenAtMs > startedAt + 2000),
        'some lines arrived while following, not all at once at the start',
      );
    });

    it(
      providerName === 'mock'
        ? 'with --previous, prints what the run before the restart wrote'
        : 'with --previous, says that ACI keeps only the current run of a container it restarted in place',
      async () => {
        await runPod('restarts', { lines: 'attempt output', exitCode: 1, exitAfterSeconds: 1 }, 'Always');
        // The event path has no resync timer here; podResync is what notices an exit no poke reports.
        await resyncUntil(
          f.runtimes,
          'a restart',
          async () =>
            ((await f.core.readNamespacedPod({ name: 'restarts', namespace: f.namespace })).status
              ?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
          { passes: 30, pauseMs: 500 },
        );
        const previous = await kubectl(['logs', '-n', f.namespace, 'restarts', '--previous']);
        if (providerName === 'mock') {
          assert.equal(previous.code, 0, previous.stderr);
          assert.equal(previous.stdout, 'attempt output\n');
        } else {
          assert.notEqual(previous.code, 0);
          assert.match(
            previous.stderr,
            /previous terminated container "app" in pod "restarts" is not available: aci restarted it in place/,
          );
        }
      },
    );

    it('answers a pod that has not started yet with the kubelet message', async () => {
      // Refused by the provider, so no instance is ever created: the mock by its script, ACI
      // because it cannot replace an image's arguments while keeping its entrypoint.
      await f.core.createNamespacedPod({
        namespace: f.namespace,
        body: {
          metadata: { name: 'refused', annotations: { 'funclet.io/mock-create-error': 'no capacity' } },
          spec: { ...onVirtualNode(f.node), containers: [{ name: 'app', image: 'busybox', args: ['x'] }] },
        },
      });
      await resyncUntil(
        f.runtimes,
        'the pod refused',
        async () =>
          (await f.core.readNamespacedPod({ name: 'refused', namespace: f.namespace })).status
            ?.containerStatuses?.[0]?.state?.waiting !== undefined,
        { passes: 20, pauseMs: 250 },
      );
      const result = await kubectl(['logs', '-n', f.namespace, 'refused']);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /container "app" in pod "refused" is waiting to start/);
    });

    describe('refuses callers it cannot authenticate or authorize, and the provider sees no call', () => {
      const path = () => `/containerLogs/${f.namespace}/hello/app`;

      it('answers 401 to a request with no client certificate and no token', async () => {
        const before = reached.length;
        const answer = await get(f.kubeletPort, path(), {});
        assert.equal(answer.status, 401);
        assert.equal(reached.length, before);
      });

      it('answers 401 to a client certificate from another CA', async () => {
        const before = reached.length;
        const answer = await get(f.kubeletPort, path(), foreignClientCertificate());
        assert.equal(answer.status, 401);
        assert.equal(reached.length, before);
      });

      it('answers 403 to a user without nodes/proxy', async () => {
        const kubeconfig = await serviceAccountKubeconfig(
          f.admin,
          { namespace: f.namespace, name: 'default' },
          { expirationSeconds: 600 },
        );
        const token = (JSON.parse(kubeconfig) as { users: { user: { token?: string } }[] }).users[0]?.user
          .token;
        assert.ok(token, 'the kubeconfig holds a token');
        const before = reached.length;
        const answer = await get(f.kubeletPort, path(), { headers: { authorization: `Bearer ${token}` } });
        assert.equal(answer.status, 403);
        assert.match(answer.body, /subresource\(s\)=\[proxy\]/);
        assert.equal(reached.length, before);
      });
    });
  });
}

function get(
  port: number,
  path: string,
  options: { headers?: Record<string, string>; cert?: string; key?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        rejectUnauthorized: false,
        headers: options.headers,
        cert: options.cert,
        key: options.key,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A client certificate for `system:masters` that no CA of the cluster signed. */
function foreignClientCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'funclet-foreign-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '1',
        '-subj',
        '/O=system:masters/CN=intruder',
        '-addext',
        'extendedKeyUsage=clientAuth',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
