import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { loadConfig, Setting } from '../../../core/config.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import { memoryLogger } from '../../../core/log.ts';
import { resolvePod } from '../../../core/pods/resolve/index.ts';
import { createProvider } from '../../../core/providers/index.ts';
import { enforcedSecurity, securityProblems } from '../../../core/providers/security.ts';
import { taskDefinitionFor } from '../../../core/providers/ecs/task-definition.ts';
import type { ProviderName, ResolvedPod } from '../../../core/providers/types.ts';
import type { Tables } from '../../../core/state/tables.ts';
import { FakeResolverApi, options, pod } from '../resolve/support.ts';

const providers: ProviderName[] = ['mock', 'aci', 'ecs'];

/** Settings of one node (options.node), refusing or ignoring what its provider cannot enforce. */
function config(unenforcedSecurity: 'refuse' | 'ignore') {
  const base = loadConfig({
    [Setting.nodes]: JSON.stringify([{ name: options.node, provider: 'mock', unenforcedSecurity }]),
    [Setting.kubeconfig]: 'apiVersion: v1\nkind: Config\n',
    [Setting.tableConnectionString]: 'UseDevelopmentStorage=true',
  });
  return {
    ...base,
    aci: {
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroup: 'rg',
      region: 'westeurope',
    },
    ecs: {
      cluster: 'funclet',
      region: 'eu-west-1',
      subnets: ['subnet-1'],
      securityGroups: [],
      assignPublicIp: false,
      taskRoles: {},
    },
  };
}

/** The mock's table: nothing must be written to it when a pod is refused. */
const written: unknown[] = [];
const tableThatRecords = (writes: unknown[]) =>
  ({
    table: () =>
      Promise.resolve({
        createEntity: (row: unknown) => {
          writes.push(row);
          return Promise.resolve({});
        },
      }),
  }) as unknown as Tables;

async function provider(
  name: ProviderName,
  unenforced: 'refuse' | 'ignore',
  tables = tableThatRecords(written),
) {
  return createProvider(name, {
    config: config(unenforced),
    tables,
    logger: memoryLogger().logger,
    now: Date.now,
  });
}

const resolved = (
  spec: Partial<V1PodSpec> = {},
  container: Partial<V1Container> = {},
): Promise<ResolvedPod> => resolvePod(pod(spec, container), new FakeResolverApi(), options);

async function refusal(name: ProviderName, unenforced: 'refuse' | 'ignore', p: ResolvedPod): Promise<string> {
  const created = (await provider(name, unenforced)).createPod(p);
  try {
    await created;
  } catch (err) {
    if (err instanceof InvalidInputError) return err.message;
    throw err;
  }
  assert.fail('expected a refusal');
}

afterEach(() => assert.deepEqual(written, [], 'a refused pod reached the mock'));

describe('pod security settings, on every provider', () => {
  for (const name of providers) {
    it(`${name}: refuses privileged mode, host namespaces and hostPath volumes, whatever the node allows`, async () => {
      const cases: [Promise<ResolvedPod>, RegExp][] = [
        [resolved({}, { securityContext: { privileged: true } }), /container app asks for privileged mode/],
        [resolved({ hostNetwork: true }), /host's network namespace/],
        [resolved({ hostPID: true, hostIPC: true }), /host's PID namespace.*host's IPC namespace/],
        [
          resolved({ volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
          /Volume root is a hostPath volume/,
        ],
      ];
      for (const [p, message] of cases) {
        for (const unenforced of ['refuse', 'ignore'] as const)
          assert.match(await refusal(name, unenforced, await p), message);
      }
    });
  }

  it('refuses settings the provider cannot enforce, naming them and the node setting that would run the pod', async () => {
    const hardened = await resolved(
      { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } },
      {
        securityContext: {
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        },
      },
    );
    for (const name of ['mock', 'aci'] as const) {
      const message = await refusal(name, 'refuse', hardened);
      for (const setting of [
        'runAsNonRoot',
        'readOnlyRootFilesystem',
        'allowPrivilegeEscalation',
        'capabilities',
        'seccompProfile',
      ])
        assert.match(message, new RegExp(`securityContext\\.${setting}, which`), `${name}: ${setting}`);
      assert.match(message, /"unenforcedSecurity": "ignore"/);
    }
    // ECS runs the container with a read-only root filesystem and as the given user: those are not refused.
    const ecs = await refusal('ecs', 'refuse', hardened);
    assert.doesNotMatch(ecs, /readOnlyRootFilesystem/);
    assert.match(ecs, /runAsNonRoot/, 'without a runAsUser ECS cannot tell the image runs as non-root');
  });

  it('lets a permissive value through: it loses nothing where it is not applied', async () => {
    const permissive = await resolved(
      { securityContext: { seccompProfile: { type: 'Unconfined' } } },
      { securityContext: { allowPrivilegeEscalation: true, privileged: false } },
    );
    const writes: unknown[] = [];
    await (await provider('mock', 'refuse', tableThatRecords(writes))).createPod(permissive);
    assert.equal(writes.length, 1);
  });

  it('runs the pod without the settings on a node set to ignore them', async () => {
    const hardened = await resolved(
      {},
      { securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true } },
    );
    const writes: unknown[] = [];
    await (await provider('mock', 'ignore', tableThatRecords(writes))).createPod(hardened);
    assert.equal(writes.length, 1);
  });

  it('ECS enforces the user, group and read-only root filesystem in the container definition', async () => {
    const p = await resolved(
      { securityContext: { runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true } },
      { securityContext: { readOnlyRootFilesystem: true } },
    );
    const def = taskDefinitionFor(p, { region: 'eu-west-1', taskRoles: {} }).containerDefinitions?.[0];
    assert.equal(def?.user, '1000:3000');
    assert.equal(def?.readonlyRootFilesystem, true);
    assert.deepEqual(
      securityProblems(p, 'ECS', enforcedSecurity.ecs, 'refuse'),
      [],
      'nothing is left to refuse',
    );
  });

  it('still refuses through a proxy that wraps each of its methods, as tracing and call counting do', async () => {
    const checked = await provider('mock', 'refuse');
    const calls: string[] = [];
    const wrapped = new Proxy(checked, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function' || typeof prop === 'symbol') return value;
        return (...args: unknown[]) => {
          calls.push(prop);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const privileged = await resolved({}, { securityContext: { privileged: true } });
    await assert.rejects(wrapped.createPod(privileged), /container app asks for privileged mode/);
    assert.deepEqual(calls, ['createPod']);
  });
});
