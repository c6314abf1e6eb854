import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerResources } from '../../../core/providers/aci/resources.ts';
import type { ResolvedContainer } from '../../../core/providers/types.ts';
import { container } from './support.ts';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

function withResources(
  requests: ResolvedContainer['requests'],
  limits: ResolvedContainer['limits'] = {},
): ResolvedContainer {
  return container({ requests, limits });
}

describe('ACI resources', () => {
  it('rounds requests up to ACI granularity, so a request is always honoured in full', () => {
    const [r] = containerResources([withResources({ cpu: 0.001, memoryBytes: 100 * Mi })]);
    assert.deepEqual(r!.requests, { cpu: 0.01, memoryInGB: 0.2 });
    const [s] = containerResources([withResources({ cpu: 0.25, memoryBytes: 1e9 })]);
    assert.deepEqual(s!.requests, { cpu: 0.25, memoryInGB: 1 });
    const [t] = containerResources([withResources({ cpu: 1.234, memoryBytes: Gi })]);
    assert.deepEqual(t!.requests, { cpu: 1.24, memoryInGB: 1.1 });
  });

  it('requests the limit when only a limit is set, and 1 core / 1.5 GB when nothing is', () => {
    const [limitOnly, nothing] = containerResources([
      withResources({}, { cpu: 2, memoryBytes: 2e9 }),
      withResources({}),
    ]);
    assert.deepEqual(limitOnly!.requests, { cpu: 2, memoryInGB: 2 });
    assert.deepEqual(nothing!.requests, { cpu: 1, memoryInGB: 1.5 });
    assert.equal(nothing!.limits, undefined);
  });

  it('clamps a limit above the group total down to the total (ACI would refuse it)', () => {
    const [app, sidecar] = containerResources([
      withResources({ cpu: 0.2, memoryBytes: 0.5e9 }, { cpu: 1.5, memoryBytes: 4e9 }),
      withResources({ cpu: 0.1, memoryBytes: 0.3e9 }),
    ]);
    assert.deepEqual(app!.limits, { cpu: 0.3, memoryInGB: 0.8 });
    assert.equal(sidecar!.limits, undefined);
  });

  it('raises a limit below the request up to the request (ACI would refuse it)', () => {
    const [r] = containerResources([
      withResources({ cpu: 1, memoryBytes: 2e9 }, { cpu: 0.5, memoryBytes: 1e9 }),
    ]);
    assert.deepEqual(r!.limits, { cpu: 1, memoryInGB: 2 });
  });

  it('never gives a container a limit above the group total or below its request, whatever the pod asks', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const maybe = (value: number): number | undefined => (random() < 0.3 ? undefined : value);
    for (let round = 0; round < 500; round++) {
      const containers = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        withResources(
          { cpu: maybe(random() * 3), memoryBytes: maybe(random() * 8e9) },
          { cpu: maybe(random() * 6), memoryBytes: maybe(random() * 16e9) },
        ),
      );
      const resources = containerResources(containers);
      const totalCpu = resources.reduce((sum, r) => sum + r.requests.cpu, 0);
      const totalMemory = resources.reduce((sum, r) => sum + r.requests.memoryInGB, 0);
      for (const r of resources) {
        assert.ok(r.requests.cpu >= 0.01 && r.requests.memoryInGB >= 0.1);
        if (r.limits?.cpu !== undefined) {
          assert.ok(
            r.limits.cpu >= r.requests.cpu && r.limits.cpu <= totalCpu + 1e-9,
            JSON.stringify(resources),
          );
        }
        if (r.limits?.memoryInGB !== undefined) {
          assert.ok(
            r.limits.memoryInGB >= r.requests.memoryInGB && r.limits.memoryInGB <= totalMemory + 1e-9,
            JSON.stringify(resources),
          );
        }
      }
    }
  });
});
