import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sessionSlots } from '../../../core/kubelet/exec.ts';
import { parseKubeletApiRequest } from '../../../core/kubelet/protocol.ts';
import { negotiateProtocol, spdyRemoteCommandProtocols } from '../../../core/kubelet/spdyStreams.ts';
import { ResizeQueue, statusOf, statusTextOf, streamOptionsOf } from '../../../core/kubelet/streams.ts';
import { sessionUrlProblem } from '../../../core/kubelet/terminalSession.ts';
import { pickWebSocketProtocol } from '../../../core/kubelet/wsStreams.ts';

describe('exec requests to the kubeletApi function', () => {
  const base = { op: 'execSession', node: 'vk-1', namespace: 'ns', pod: 'p', container: 'c' };

  it('takes the command, tty, stdin and the terminal size', () => {
    const parsed = parseKubeletApiRequest(
      JSON.stringify({
        ...base,
        command: ['sh', '-c', 'exit 3'],
        tty: true,
        stdin: false,
        terminalSize: { rows: 30, cols: 100 },
      }),
    );
    assert.deepEqual(parsed, {
      ok: true,
      request: {
        ...base,
        command: ['sh', '-c', 'exit 3'],
        tty: true,
        stdin: false,
        terminalSize: { rows: 30, cols: 100 },
      },
    });
  });

  it('refuses what is off the schema, whole', () => {
    const problem = (body: object) => {
      const parsed = parseKubeletApiRequest(JSON.stringify(body));
      return parsed.ok ? 'accepted' : parsed.problem;
    };
    assert.match(
      problem({ ...base, command: [], tty: false, stdin: false }),
      /command must be 1 or more strings/,
    );
    assert.match(problem({ ...base, command: ['x', 1], tty: false, stdin: false }), /command must be/);
    assert.match(
      problem({ ...base, command: ['x'.repeat(17 * 1024)], tty: false, stdin: false }),
      /at most 16384 bytes/,
    );
    assert.match(problem({ ...base, command: ['x'], tty: 'yes', stdin: false }), /tty and stdin/);
    assert.match(
      problem({ ...base, command: ['x'], tty: true, stdin: true, terminalSize: { rows: 0, cols: 5 } }),
      /terminalSize/,
    );
    assert.match(
      problem({ ...base, container: 'Not_A_Name', command: ['x'], tty: false, stdin: false }),
      /container must be/,
    );
  });
});

describe('exec and attach streams, as the kubelet reads and writes them', () => {
  it('reads the query the API server sends (input, output, error, tty), without stderr under a tty', () => {
    assert.deepEqual(streamOptionsOf(new URLSearchParams('command=ls&error=1&output=1')), {
      stdin: false,
      stdout: true,
      stderr: true,
      tty: false,
    });
    assert.deepEqual(streamOptionsOf(new URLSearchParams('input=1&output=1&error=1&tty=1')), {
      stdin: true,
      stdout: true,
      stderr: false,
      tty: true,
    });
    assert.deepEqual(streamOptionsOf(new URLSearchParams('tty=1')), {
      problem: 'you must specify at least 1 of stdin, stdout, stderr',
    });
  });

  it('negotiates the SPDY protocol as httpstream.Handshake does: the first the client offers that the kubelet speaks', () => {
    const offered =
      'v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io';
    assert.deepEqual(negotiateProtocol(offered, spdyRemoteCommandProtocols), {
      protocol: 'v4.channel.k8s.io',
    });
    assert.deepEqual(negotiateProtocol(undefined, spdyRemoteCommandProtocols), {
      status: 400,
      message: 'unable to upgrade: X-Stream-Protocol-Version is required',
    });
    assert.equal(
      (negotiateProtocol('portforward.k8s.io', spdyRemoteCommandProtocols) as { status: number }).status,
      403,
    );
    assert.equal(
      pickWebSocketProtocol(['base64.channel.k8s.io', 'v4.channel.k8s.io']),
      'base64.channel.k8s.io',
    );
    assert.equal(pickWebSocketProtocol([]), '');
    assert.equal(pickWebSocketProtocol(['v9.channel.k8s.io']), undefined);
  });

  it('reads terminal sizes from the resize stream, however the JSON is split', async () => {
    const sizes = new ResizeQueue();
    sizes.pushBytes(Buffer.from('{"Width":100,"Hei'));
    sizes.pushBytes(Buffer.from('ght":30}\n{"Width":120,"Height":40}'));
    assert.deepEqual(await sizes.next(0), { width: 100, height: 30 });
    assert.deepEqual(await sizes.next(0), { width: 120, height: 40 });
    assert.equal(await sizes.next(10), null);
  });

  it('writes the exit status as a Status for v4 and as text before it', () => {
    assert.deepEqual(statusOf({ kind: 'success' }), { metadata: {}, status: 'Success' });
    assert.deepEqual(statusOf({ kind: 'exitCode', code: 3 }), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    assert.equal(statusTextOf({ kind: 'success' }), '');
    assert.equal(statusTextOf({ kind: 'failure', message: 'no shell' }), 'no shell');
  });

  it('connects to a provider session only over wss, or ws to loopback', () => {
    assert.equal(sessionUrlProblem('wss://bridge.example/exec/x'), undefined);
    assert.equal(sessionUrlProblem('ws://127.0.0.1:9000/exec/x'), undefined);
    assert.equal(sessionUrlProblem('ws://[::1]:9000/exec/x'), undefined);
    assert.match(sessionUrlProblem('ws://10.0.0.5/exec/x') ?? '', /must be wss/);
    assert.match(sessionUrlProblem('https://bridge.example') ?? '', /must be wss/);
  });

  it('gives out at most its limit of session slots, each back once', () => {
    const slots = sessionSlots(2);
    const a = slots.take();
    const b = slots.take();
    assert.ok(a && b);
    assert.equal(slots.take(), undefined);
    a.release();
    a.release();
    assert.equal(slots.active, 1);
    assert.ok(slots.take());
    assert.equal(slots.active, 2);
  });
});
