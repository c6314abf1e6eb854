/**
 * One container, resolved: env (env.ts), command and args with `$(VAR)` expanded against that
 * env (kubelet ExpandContainerCommandAndArgs), ports, resources, volume mounts with subPathExpr
 * expanded, probes carried through.
 */
import type { V1Container, V1VolumeMount } from '@kubernetes/client-node';
import { InvalidInputError } from '../../errors.ts';
import type { ContainerPort, EnvVar, ResolvedContainer, VolumeMount } from '../../providers/types.ts';
import type { PodContext } from './context.ts';
import { containerEnv } from './env.ts';
import { ContainerConfigError } from './errors.ts';
import { expand } from './expand.ts';
import { containerResources } from './resources.ts';
import { containerSecurity } from './security.ts';

export async function resolveContainer(
  ctx: PodContext,
  container: V1Container,
  serviceEnv: readonly EnvVar[],
  omittedVolumes: ReadonlySet<string>,
): Promise<ResolvedContainer> {
  const env = await containerEnv(ctx, container, serviceEnv);
  const values = new Map(env.map((v) => [v.name, v.value]));
  const lookup = (name: string) => values.get(name);
  const expandAll = (list: string[] | undefined) =>
    list?.length ? list.map((s) => expand(s, lookup)) : undefined;
  const { requests, limits } = containerResources(container);
  const lifecycle = container.lifecycle;
  return {
    name: container.name,
    image: container.image ?? '',
    ...defined('command', expandAll(container.command)),
    ...defined('args', expandAll(container.args)),
    ...defined('workingDir', container.workingDir || undefined),
    env,
    ports: (container.ports ?? []).map((p) => containerPort(container.name, p)),
    requests,
    limits,
    volumeMounts: (container.volumeMounts ?? [])
      .filter((m) => !omittedVolumes.has(m.name))
      .map((m) => volumeMount(container.name, m, values)),
    ...defined('livenessProbe', container.livenessProbe),
    ...defined('readinessProbe', container.readinessProbe),
    ...defined('startupProbe', container.startupProbe),
    hasLifecycleHooks: Boolean(lifecycle?.postStart ?? lifecycle?.preStop),
    ...defined('restartPolicy', container.restartPolicy === 'Always' ? ('Always' as const) : undefined),
    ...defined('security', containerSecurity(ctx.pod, container)),
  };
}

function containerPort(
  container: string,
  port: { containerPort: number; protocol?: string; name?: string },
): ContainerPort {
  const protocol = port.protocol ?? 'TCP';
  if (protocol !== 'TCP' && protocol !== 'UDP') {
    throw new InvalidInputError(
      `container "${container}" port ${port.containerPort} uses protocol ${protocol}; only TCP and UDP are supported`,
    );
  }
  return { containerPort: port.containerPort, protocol, ...defined('name', port.name || undefined) };
}

/**
 * A mount, with subPathExpr expanded as the kubelet does (ExpandContainerVolumeMounts and
 * makeMounts): every variable it names must have a non-empty value, and the result must be a
 * relative path without '..'; otherwise CreateContainerConfigError.
 */
function volumeMount(container: string, mount: V1VolumeMount, env: ReadonlyMap<string, string>): VolumeMount {
  let subPath = mount.subPath || undefined;
  if (mount.subPathExpr) {
    const unset = new Set<string>();
    subPath = expand(mount.subPathExpr, (name) => {
      const value = env.get(name);
      if (!value) unset.add(name);
      return value ?? '';
    });
    if (unset.size > 0) {
      throw new ContainerConfigError(
        `subPathExpr of mount ${mount.name} in container "${container}": missing value for ${[...unset].sort().join(', ')}`,
      );
    }
    subPath ||= undefined;
  }
  if (subPath !== undefined && (subPath.startsWith('/') || subPath.split('/').includes('..'))) {
    throw new ContainerConfigError(
      `subPath "${subPath}" of mount ${mount.name} in container "${container}" must be a relative path without '..'`,
    );
  }
  return {
    name: mount.name,
    mountPath: mount.mountPath,
    readOnly: mount.readOnly ?? false,
    ...defined('subPath', subPath),
  };
}

/** `{ key: value }` when value is set, `{}` otherwise: optional fields stay absent, not undefined. */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
