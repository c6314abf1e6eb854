/** ResolvedPod and ResolvedContainer builders for the ECS provider's tests. */
import type { ResolvedContainer, ResolvedPod } from '../../../core/providers/types.ts';

export function container(overrides: Partial<ResolvedContainer> = {}): ResolvedContainer {
  return {
    name: 'app',
    image: 'public.ecr.aws/docker/library/busybox:1.36',
    env: [],
    ports: [],
    requests: {},
    limits: {},
    volumeMounts: [],
    hasLifecycleHooks: false,
    ...overrides,
  };
}

export function resolvedPod(overrides: Partial<ResolvedPod> = {}): ResolvedPod {
  return {
    namespace: 'default',
    name: 'web',
    uid: '6f1c2b9e-1d2a-4c1e-9a53-1b2f4e6d8a00',
    node: 'funclet-ecs',
    labels: {},
    annotations: {},
    os: 'linux',
    restartPolicy: 'Always',
    containers: [container()],
    initContainers: [],
    volumes: [],
    imagePullCredentials: [],
    nodeSelector: {},
    attempt: 0,
    createdAtMs: Date.UTC(2025, 0, 1),
    ...overrides,
  };
}
