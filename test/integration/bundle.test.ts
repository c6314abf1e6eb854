/**
 * The bundle the Functions host loads (package.json "main", built by scripts/bundle.ts) works
 * on its own: its timers register a node and run a pod through the lazily loaded mock
 * provider chunk, and its webhook refuses a forged request. Settings come from process.env, as
 * in the host.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Metafile } from 'esbuild';
import { Setting } from '../../core/config.ts';
import type { HttpHandler, TimerHandler } from '../../functions/azure.ts';
import { bundleApp } from '../../scripts/bundle.ts';
import { functionSettings, invocation, timer } from '../support/functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from '../support/kube.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { pokeRequest } from '../support/webhook.ts';

interface BundledApp {
  leaseRenew: TimerHandler;
  nodeStatus: TimerHandler;
  podResync: TimerHandler;
  podEvents: HttpHandler;
}

describe('the bundled function app', () => {
  const node = uniqueName('vk-bundle');
  const namespace = uniqueName('bundle');
  const secret = 'b'.repeat(40);
  const dir = mkdtempSync(join(tmpdir(), 'funclet-bundle-'));
  let admin: KubeConfig;
  let core: CoreV1Api;
  let bundled: BundledApp;
  let outputs: Metafile['outputs'];

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    Object.assign(
      process.env,
      functionSettings({
        kubeconfig: await functionKubeconfig(admin, [node]),
        tablePrefix: `bundle${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
        extra: { [Setting.webhookSecret]: secret, [Setting.mockStartDelayMs]: '0' },
      }),
    );
    outputs = (await bundleApp(dir)).outputs;
    bundled = (await import(pathToFileURL(join(dir, 'app.js')).href)) as BundledApp;
    await createPodNamespace(core, namespace);
  });

  after(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps each provider and its cloud SDK out of the file every cold start reads', () => {
    const outputOf = (file: string) => Object.entries(outputs).find(([out]) => out.endsWith(file));
    const inputsOf = (file: string) => Object.keys(outputOf(file)?.[1].inputs ?? {});
    // What a cold start reads: app.js and the chunks it imports statically (shared code esbuild
    // splits out), never those it imports lazily.
    const coldStart = new Set<string>();
    const visit = (file: string) => {
      const found = outputOf(file);
      if (!found || coldStart.has(found[0])) return;
      coldStart.add(found[0]);
      for (const i of found[1].imports)
        if (i.kind === 'import-statement' && !i.external) visit(`/${i.path.split('/').pop()!}`);
    };
    visit('/app.js');
    const app = [...coldStart].flatMap((f) => Object.keys(outputs[f]!.inputs));
    assert.ok(app.some((f) => f.includes('node_modules/@kubernetes/client-node/')));
    const providerCode =
      /core\/providers\/(aci|ecs|mock)\/|node_modules\/(@azure\/arm-containerinstance|@aws-sdk\/client-ecs)\//;
    assert.deepEqual(
      app.filter((f) => providerCode.test(f)),
      [],
      'no provider code in what a cold start reads',
    );
    const chunks = Object.keys(outputs).filter((f) => f.endsWith('.js') && !coldStart.has(f));
    for (const sdk of ['@azure/arm-containerinstance', '@aws-sdk/client-ecs', 'core/providers/mock/'])
      assert.ok(
        chunks.some((c) => inputsOf(c).some((f) => f.includes(sdk))),
        `${sdk} is in a chunk of its own`,
      );
  });

  it('registers its six functions with the worker, through the module the worker provides', () => {
    // The Node worker provides @azure/functions-core by wrapping Module.prototype.require; this
    // installs the same wrapper around a recorder and imports the bundle in a new process.
    const script = `
      import Module from 'node:module';
      const registered = [];
      const core = {
        version: '3.0.0',
        setProgrammingModel() {},
        registerHook() { return { dispose() {} }; },
        registerFunction(metadata) { registered.push(metadata); return { dispose() {} }; },
        log() {},
      };
      Module.prototype.require = new Proxy(Module.prototype.require, {
        apply: (target, self, args) => (args[0] === '@azure/functions-core' ? core : Reflect.apply(target, self, args)),
      });
      await import(${JSON.stringify(pathToFileURL(join(dir, 'app.js')).href)});
      process.stdout.write(JSON.stringify(registered));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const registered = JSON.parse(out.toString()) as {
      name: string;
      bindings: Record<string, { type: string; schedule?: string; authLevel?: string; methods?: string[] }>;
    }[];
    const triggers = Object.fromEntries(
      registered.map((f) => [f.name, Object.values(f.bindings).find((b) => b.type.endsWith('Trigger'))]),
    );
    assert.deepEqual(
      {
        leaseRenew: triggers.leaseRenew?.schedule,
        credentialRenewal: triggers.credentialRenewal?.schedule,
        nodeStatus: triggers.nodeStatus?.schedule,
        podResync: triggers.podResync?.schedule,
        podEvents: [triggers.podEvents?.type, triggers.podEvents?.authLevel, triggers.podEvents?.methods],
        kubeletApi: [triggers.kubeletApi?.type, triggers.kubeletApi?.authLevel, triggers.kubeletApi?.methods],
      },
      {
        leaseRenew: '*/10 * * * * *',
        credentialRenewal: '0 */15 * * * *',
        nodeStatus: '0 * * * * *',
        podResync: '30 * * * * *',
        podEvents: ['httpTrigger', 'function', ['POST']],
        kubeletApi: ['httpTrigger', 'function', ['POST']],
      },
    );
    assert.equal(registered.length, 6);
  });

  it('registers the node and its lease from the bundled leaseRenew', async () => {
    await bundled.leaseRenew(timer(), invocation('leaseRenew').context);
    const ready = (await core.readNode({ name: node })).status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: node, namespace: 'kube-node-lease' });
    assert.equal(lease.spec?.holderIdentity, node);
  });

  it('runs a pod through the bundled podResync and the mock provider it loads on demand', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          nodeName: node,
          automountServiceAccountToken: false,
          containers: [{ name: 'c', image: 'busybox' }],
        },
      },
    });
    await waitFor(
      'the pod Running',
      async () => {
        await bundled.podResync(timer(), invocation('podResync').context);
        const pod = await core.readNamespacedPod({ name: 'web', namespace });
        return pod.status?.phase === 'Running';
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  it('refuses a forged webhook from the bundled podEvents, and lets a signed one through', async () => {
    const pod = await core.readNamespacedPod({ name: 'web', namespace });
    const poke = {
      type: 'MODIFIED' as const,
      namespace,
      name: 'web',
      uid: pod.metadata!.uid!,
      resourceVersion: pod.metadata!.resourceVersion!,
    };
    const forged = await bundled.podEvents(
      pokeRequest('x'.repeat(40), node, [poke]),
      invocation('podEvents').context,
    );
    assert.equal(forged.status, 401);
    const signed = await bundled.podEvents(
      pokeRequest(secret, node, [poke]),
      invocation('podEvents').context,
    );
    assert.equal(signed.status, 200);
  });
});
