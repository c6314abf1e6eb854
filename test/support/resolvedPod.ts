/** Builders for the ResolvedPod a provider receives, with plain defaults; tests override what they test. */
import type { ResolvedContainer, ResolvedPod } from '../../core/providers/types.ts';

export function resolvedContainer(overrides: Partial<ResolvedContainer> = {}): ResolvedContainer {
  return {
    name: 'app',
    image: 'busybox:1.36',
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
    uid: crypto.randomUUID(),
    node: 'virtual-node',
    labels: {},
    annotations: {},
    os: 'linux',
    restartPolicy: 'Always',
    containers: [resolvedContainer()],
    initContainers: [],
    volumes: [],
    imagePullCredentials: [],
    nodeSelector: {},
    attempt: 0,
    createdAtMs: Date.UTC(2025, 0, 1),
    ...overrides,
  };
}
