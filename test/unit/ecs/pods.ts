/** ResolvedPod and ResolvedContainer builders for the ECS provider's tests. */
import type { ResolvedContainer, ResolvedPod } from '../../../core/providers/types.ts';
import { resolvedContainer, resolvedPod as basePod } from '../../support/resolvedPod.ts';

export function container(overrides: Partial<ResolvedContainer> = {}): ResolvedContainer {
  return resolvedContainer({ image: 'public.ecr.aws/docker/library/busybox:1.36', ...overrides });
}

export function resolvedPod(overrides: Partial<ResolvedPod> = {}): ResolvedPod {
  return basePod({
    uid: '6f1c2b9e-1d2a-4c1e-9a53-1b2f4e6d8a00',
    node: 'funclet-ecs',
    containers: [container()],
    ...overrides,
  });
}
