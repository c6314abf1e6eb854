import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { HttpFunction } from '../../cli/httpHost.ts';
import { caPemOf, serviceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import { aciUnderTest } from '../e2e/providers.ts';
import type { FakeAci } from '../fakes/aci/server.ts';
import { testEnv } from '../support/env.ts';
import { eventPathFixture, type EventPathFixture } from '../support/eventPathFixture.ts';
import { kubectl, type KubectlResult } from '../support/kubectl.ts';
import { waitFor } from '../support/process.ts';
import { onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

/** The relay may serve this many sessions at once in these tests; the limit test fills them. */
const maxSessions = 2;

for (const providerName of ['mock', 'aci'] as const) {
  describe(`kubectl exec, cp and attach on a ${providerName} virtual node, through the relay kubelet endpoint`, () => {
    let f: EventPathFixture;
    let fake: FakeAci | undefined;
    let stopBackend = (): Promise<void> => Promise.resolve();
    const work = mkdtempSync(join(tmpdir(), `funclet-exec-${providerName}-`));
    /** The ops that reached the kubeletApi function. */
    const reached: string[] = [];
    const counting =
      (handler: HttpFunction): HttpFunction =>
      async (req, ctx) => {
        reached.push((JSON.parse(await req.clone().text()) as { op?: string }).op ?? '?');
        return handler(req, ctx);
      };
    /** Sessions the provider was asked for (ACI's executeCommand; the mock's exec server). */
    const providerSessions = () => (fake ? fake.exec.requests.length : f.mockExec.sessionsServed());
    const providerSocketsOpen = () => (fake ? fake.exec.openSockets() : f.mockExec.openSessions());
    const exec = (args: string[], input?: string | Buffer) =>
      kubectl(['exec', '-n', f.namespace, ...args], { input });

    before(async () => {
      const backend = providerName === 'aci' ? await aciUnderTest() : undefined;
      if (backend) {
        fake = backend.fake;
        stopBackend = () => backend.stop();
      }
      f = await eventPathFixture(`exec-${providerName}`, {
        startDelayMs: 300,
        provider: backend,
        wrapKubeletApi: counting,
        kubelet: { address: '127.0.0.1', maxSessions },
      });
      await waitFor(
        'the node to post the relay as its InternalIP',
        async () =>
          (await f.core.readNode({ name: f.node })).status?.addresses?.some(
            (a) => a.type === 'InternalIP' && a.address === '127.0.0.1',
          ) === true,
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      await runPod(f, 'shell', providerName, {});
    });

    after(async () => {
      await f?.stop();
      await stopBackend();
      rmSync(work, { recursive: true, force: true });
    });

    it('runs a command with its arguments and prints its output', async () => {
      const result = await exec(['shell', '--', 'echo', 'hi']);
      assert.deepEqual(result, { code: 0, stdout: 'hi\n', stderr: '' });
    });

    it("exits with the command's exit code", async () => {
      const result = await exec(['shell', '--', 'sh', '-c', 'exit 3']);
      assert.equal(result.code, 3);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /command terminated with exit code 3/);
    });

    it('passes stdin with -i, to its end', async () => {
      const input = 'first line\nsecond line, no newline at the end';
      const result = await exec(['-i', 'shell', '--', 'cat'], input);
      assert.deepEqual(result, { code: 0, stdout: input, stderr: '' });
    });

    it("keeps the command's stderr apart from its stdout, and runs it with the container's env", async () => {
      const result = await exec(['shell', '--', 'sh', '-c', 'echo "FOO is $FOO"; echo oops >&2; exit 1']);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, 'FOO is bar\n');
      assert.match(result.stderr, /^oops\n/);
      const env = await exec(['shell', '--', 'env']);
      assert.match(env.stdout, /^FOO=bar$/m);
    });

    it('runs with a terminal with -it, of the size of the caller’s', async () => {
      const before = fake?.exec.requests.length ?? 0;
      const result = await withTerminal(
        `stty rows 30 cols 100; kubectl --kubeconfig=${testEnv().cluster.adminKubeconfigPath} exec -it -n ${f.namespace} shell -- sh -c 'tty; stty size'`,
      );
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /\/dev\/pts\/0\r\n30 100\r\n/);
      if (fake) {
        // ACI fixes a session's terminal when the session starts: it got the caller's.
        const request = fake.exec.requests.slice(before).at(-1);
        assert.deepEqual(
          { rows: request?.rows, cols: request?.cols, command: request?.command },
          {
            rows: 30,
            cols: 100,
            command: '/bin/sh',
          },
        );
      }
    });

    it('copies a file in with kubectl cp and back out, byte for byte', async () => {
      const original = randomBytes(300 * 1024);
      writeFileSync(join(work, 'in.bin'), original);
      const into = await kubectl(['cp', join(work, 'in.bin'), `${f.namespace}/shell:/tmp/copied.bin`]);
      assert.equal(into.code, 0, into.stderr);
      const listed = await exec(['shell', '--', 'ls', '/tmp']);
      assert.match(listed.stdout, /^copied\.bin$/m);
      const out = await kubectl(['cp', `${f.namespace}/shell:/tmp/copied.bin`, join(work, 'out.bin')]);
      assert.equal(out.code, 0, out.stderr);
      assert.ok(readFileSync(join(work, 'out.bin')).equals(original), 'the bytes came back as they went in');
    });

    it('attaches to the container and prints what it writes from then on, until it ends', async () => {
      await runPod(f, 'ticker', providerName, { everySeconds: 1, exitAfterSeconds: 9 });
      let written = 0;
      await waitFor(
        'two ticks written',
        async () => {
          const logs = await kubectl(['logs', '-n', f.namespace, 'ticker']);
          written = logs.stdout === '' ? 0 : logs.stdout.trimEnd().split('\n').length;
          return written >= 2;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      const result = await kubectl(['attach', '-n', f.namespace, 'ticker'], { timeoutMs: 30_000 });
      assert.equal(result.code, 0, result.stderr);
      const ticks = result.stdout.trimEnd().split('\n');
      assert.ok(ticks.length >= 2, `ticks while attached: ${result.stdout}`);
      for (const tick of ticks) assert.match(tick, /^app tick \d+$/);
      const numbers = ticks.map((t) => Number(t.split(' ').at(-1)));
      assert.deepEqual(
        numbers,
        Array.from({ length: numbers.length }, (_, i) => numbers[0]! + i),
        'each tick once, in order',
      );
      assert.ok(
        numbers[0]! > written,
        `what was written before attaching (${written} ticks) is not repeated`,
      );
    });

    it('refuses attach with stdin, saying what attach can do here', async () => {
      const result = await kubectl(['attach', '-i', '-n', f.namespace, 'shell']);
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /cannot write to a container's main process: kubectl attach shows the container's output only/,
      );
    });

    it('answers port-forward with why it cannot be done', async () => {
      const result = await kubectl(['port-forward', '-n', f.namespace, 'pod/shell', ':80'], {
        timeoutMs: 30_000,
      });
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /port-forward is not available on this virtual node: its pods run on Azure Container Instances or ECS on Fargate/,
      );
    });

    it('serves clients that reach it with WebSocket (v4.channel.k8s.io, channel.k8s.io) through the API server as they are', async () => {
      const v4 = await webSocketExec(f.admin, f.namespace, 'shell', ['echo', 'hi'], 'v4.channel.k8s.io');
      assert.equal(v4.protocol, 'v4.channel.k8s.io');
      assert.equal(v4.stdout, 'hi\n');
      assert.deepEqual(JSON.parse(v4.error), { metadata: {}, status: 'Success' });
      const v1 = await webSocketExec(f.admin, f.namespace, 'shell', ['sh', '-c', 'exit 3'], 'channel.k8s.io');
      assert.equal(v1.protocol, 'channel.k8s.io');
      assert.equal(v1.error, 'command terminated with non-zero exit code: exit status 3');
    });

    it('serves WebSocket clients at the endpoint itself: v5 closes stdin with its close signal, base64 protocols encode', async () => {
      const endpoint = `wss://127.0.0.1:${f.kubeletPort}/exec/${f.namespace}/shell/app`;
      const token = f.admin.getCurrentUser()?.token ?? '';
      const v5 = await directExec(
        `${endpoint}?command=cat&input=1&output=1`,
        'v5.channel.k8s.io',
        token,
        (ws) => {
          ws.send(Buffer.concat([Buffer.of(0), Buffer.from('through v5')]));
          ws.send(Buffer.of(255, 0));
        },
      );
      assert.equal(v5.stdout, 'through v5');
      assert.deepEqual(JSON.parse(v5.error), { metadata: {}, status: 'Success' });
      const b64 = await directExec(
        `${endpoint}?command=sh&command=-c&command=${encodeURIComponent('echo out; echo err >&2')}&output=1&error=1`,
        'v4.base64.channel.k8s.io',
        token,
      );
      assert.equal(b64.stdout, 'out\n');
      assert.equal(b64.stderr, 'err\n');
      assert.deepEqual(JSON.parse(b64.error), { metadata: {}, status: 'Success' });
    });

    it('serves kubectl speaking SPDY itself (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)', async () => {
      const result = await kubectlWith({ KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }, [
        'exec',
        '-n',
        f.namespace,
        'shell',
        '--',
        'sh',
        '-c',
        'echo spdy; exit 4',
      ]);
      assert.equal(result.code, 4);
      assert.equal(result.stdout, 'spdy\n');
    });

    it(`serves ${maxSessions} sessions at once, refuses one more with a clear message, and keeps nothing once they end`, async () => {
      await waitFor(
        'earlier sessions to end',
        () => Promise.resolve(f.kubeletSessions() === 0 && providerSocketsOpen() === 0),
        {
          timeoutMs: 20_000,
        },
      );
      const held = Array.from({ length: maxSessions }, () =>
        spawnKubectl(['exec', '-i', '-n', f.namespace, 'shell', '--', 'cat']),
      );
      await waitFor(
        'the sessions to reach the provider',
        () => Promise.resolve(providerSocketsOpen() === maxSessions),
        {
          timeoutMs: 20_000,
        },
      );
      assert.equal(f.kubeletSessions(), maxSessions);

      const refused = await exec(['shell', '--', 'echo', 'one too many']);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        new RegExp(
          `already serves ${maxSessions} exec and attach sessions, as many as it may at once \\(FUNCLET_KUBELET_MAX_SESSIONS\\); try again when one ends`,
        ),
      );

      // One ends as a command ends; the other's caller goes away in the middle.
      held[0]!.child.stdin!.end('done\n');
      assert.deepEqual(await held[0]!.done, { code: 0, stdout: 'done\n', stderr: '' });
      held[1]!.child.kill('SIGKILL');
      await waitFor(
        'the relay and the provider to let go of both sessions',
        () => Promise.resolve(f.kubeletSessions() === 0 && providerSocketsOpen() === 0),
        {
          timeoutMs: 20_000,
        },
      );
      if (fake) assert.equal(fake.exec.pendingSessions(), 0, 'every ACI session handed out was used');
    });

    it('leaves an exec by a user without pods/exec to the API server to refuse; the provider sees no call', async () => {
      const rbac = f.admin.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: f.namespace,
        body: {
          metadata: { name: 'pod-reader' },
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: f.namespace,
        body: {
          metadata: { name: 'pod-reader' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
          subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: f.namespace }],
        },
      });
      const path = join(work, 'reader.kubeconfig');
      writeFileSync(
        path,
        await serviceAccountKubeconfig(
          f.admin,
          { namespace: f.namespace, name: 'default' },
          { expirationSeconds: 600 },
        ),
        { mode: 0o600 },
      );
      const sessionsBefore = providerSessions();
      const opsBefore = reached.filter((op) => op === 'execSession').length;
      const result = await kubectl(['exec', '-n', f.namespace, 'shell', '--', 'echo', 'hi'], {
        kubeconfig: path,
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /cannot create resource "pods\/exec"/);
      assert.equal(reached.filter((op) => op === 'execSession').length, opsBefore);
      assert.equal(providerSessions(), sessionsBefore);
    });
  });
}

/** A Running pod on the node whose container writes and ends as scripted. */
async function runPod(
  f: EventPathFixture,
  name: string,
  provider: ProviderName,
  script: { everySeconds?: number; exitAfterSeconds?: number },
): Promise<void> {
  const ends = script.exitAfterSeconds !== undefined;
  const annotations: Record<string, string> = {};
  const env = [{ name: 'FOO', value: 'bar' }];
  if (provider === 'mock') {
    if (script.everySeconds !== undefined)
      annotations['funclet.io/mock-log-every-seconds'] = String(script.everySeconds);
    if (ends) {
      annotations['funclet.io/mock-exit-code'] = '0';
      annotations['funclet.io/mock-exit-after-seconds'] = String(script.exitAfterSeconds);
    }
  } else {
    if (script.everySeconds !== undefined)
      env.push({ name: 'FAKE_ACI_LOG_EVERY_SECONDS', value: String(script.everySeconds) });
    if (ends) {
      env.push({ name: 'FAKE_ACI_EXIT_CODE', value: '0' });
      env.push({ name: 'FAKE_ACI_EXIT_AFTER_SECONDS', value: String(script.exitAfterSeconds) });
    }
  }
  await f.core.createNamespacedPod({
    namespace: f.namespace,
    body: {
      metadata: { name, annotations },
      spec: {
        ...onVirtualNode(f.node),
        restartPolicy: 'Never',
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
}

/** `script` gives kubectl a terminal of its own, as a person at one would. */
function withTerminal(command: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', TERM: 'xterm' },
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}

function spawnKubectl(
  args: string[],
  extraEnv: Record<string, string> = {},
): { child: ChildProcess; done: Promise<KubectlResult> } {
  const child = spawn('kubectl', [`--kubeconfig=${testEnv().cluster.adminKubeconfigPath}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...extraEnv },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<KubectlResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

function kubectlWith(env: Record<string, string>, args: string[]): Promise<KubectlResult> {
  const run = spawnKubectl(args, env);
  run.child.stdin!.end();
  return run.done;
}

/**
 * An exec as a client that speaks WebSocket to the API server itself: the API server translates
 * only v5.channel.k8s.io, and passes older protocols to the kubelet endpoint as they are.
 */
async function webSocketExec(
  admin: KubeConfig,
  namespace: string,
  pod: string,
  command: string[],
  protocol: string,
): Promise<{ protocol: string; stdout: string; error: string }> {
  const cluster = admin.getCurrentCluster()!;
  const token = admin.getCurrentUser()?.token;
  const query = new URLSearchParams([
    ...command.map((c) => ['command', c]),
    ['stdout', '1'],
    ['stderr', '1'],
  ]);
  const url = `${cluster.server.replace(/^https/, 'wss')}/api/v1/namespaces/${namespace}/pods/${pod}/exec?${query}`;
  const ws = new WebSocket(url, [protocol], {
    ca: caPemOf(cluster),
    headers: { authorization: `Bearer ${token}` },
  });
  let stdout = '';
  let error = '';
  return new Promise((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) stdout += data.subarray(1).toString('utf8');
      if (data[0] === 3) error += data.subarray(1).toString('utf8');
    });
    ws.on('close', () => resolve({ protocol: ws.protocol, stdout, error }));
    ws.on('error', reject);
  });
}

/** An exec as a client that reaches the kubelet endpoint itself, with a token it takes to TokenReview. */
function directExec(
  url: string,
  protocol: string,
  token: string,
  afterOpen: (ws: WebSocket) => void = () => undefined,
): Promise<{ stdout: string; stderr: string; error: string }> {
  const ws = new WebSocket(url, [protocol], {
    rejectUnauthorized: false,
    headers: { authorization: `Bearer ${token}` },
  });
  const out = { stdout: '', stderr: '', error: '' };
  const base64 = protocol.includes('base64');
  return new Promise((resolve, reject) => {
    ws.on('open', () => afterOpen(ws));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const channel = base64 && !isBinary ? data[0]! - 48 : data[0]!;
      const body =
        base64 && !isBinary ? Buffer.from(data.subarray(1).toString(), 'base64') : data.subarray(1);
      const key = (['', 'stdout', 'stderr', 'error'] as const)[channel];
      if (key) out[key] += body.toString('utf8');
    });
    ws.on('close', () => resolve(out));
    ws.on('error', reject);
  });
}
