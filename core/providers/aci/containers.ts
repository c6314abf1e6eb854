/**
 * Pod containers and init containers as ACI containers. What ACI cannot honour is refused with a
 * sentence naming the container, collected in `problems`:
 * - ACI's `command` replaces the image's entrypoint AND its arguments. Kubernetes `args` alone keep
 *   the entrypoint and replace only the arguments, which ACI cannot express; so `args` without
 *   `command` is refused, and `command` + `args` become one ACI command.
 * - no workingDir, no lifecycle hooks, no startup probes, no subPath mounts in ACI.
 * Secret environment values go in `secureValue`, which ACI never returns.
 */
import type {
  Container,
  EnvironmentVariable,
  InitContainerDefinition,
  VolumeMount,
} from '@azure/arm-containerinstance';
import type { ResolvedContainer } from '../types.ts';
import { aciProbe } from './probes.ts';
import type { AciResources } from './resources.ts';

export interface GpuRequest {
  count: number;
  sku: string;
}

export function aciContainer(
  container: ResolvedContainer,
  resources: AciResources,
  gpu: GpuRequest | undefined,
  volumeNames: ReadonlySet<string>,
  problems: string[],
): Container {
  const common = commonParts(container, volumeNames, problems);
  if (container.hasLifecycleHooks) {
    problems.push(
      `Container "${container.name}" has lifecycle hooks (postStart/preStop), which ACI cannot run.`,
    );
  }
  if (container.startupProbe !== undefined) {
    problems.push(
      `Container "${container.name}" has a startupProbe, which ACI does not support; use initialDelaySeconds on its other probes.`,
    );
  }
  return {
    ...common,
    ports: container.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol })),
    resources: {
      requests: { ...resources.requests, ...(gpu === undefined ? {} : { gpu }) },
      ...(resources.limits === undefined ? {} : { limits: resources.limits }),
    },
    livenessProbe: aciProbe(container.livenessProbe, 'liveness', container, problems),
    readinessProbe: aciProbe(container.readinessProbe, 'readiness', container, problems),
  };
}

/** ACI init containers take no resources, ports or probes: they run inside the group's resources. */
export function aciInitContainer(
  container: ResolvedContainer,
  volumeNames: ReadonlySet<string>,
  problems: string[],
): InitContainerDefinition {
  if (container.hasLifecycleHooks) {
    problems.push(
      `Init container "${container.name}" has lifecycle hooks (postStart/preStop), which ACI cannot run.`,
    );
  }
  return commonParts(container, volumeNames, problems);
}

function commonParts(
  container: ResolvedContainer,
  volumeNames: ReadonlySet<string>,
  problems: string[],
): {
  name: string;
  image: string;
  command?: string[];
  environmentVariables: EnvironmentVariable[];
  volumeMounts: VolumeMount[];
} {
  const parts = {
    name: container.name,
    image: container.image,
    environmentVariables: container.env.map((e): EnvironmentVariable =>
      e.secret ? { name: e.name, secureValue: e.value } : { name: e.name, value: e.value },
    ),
    volumeMounts: mounts(container, volumeNames, problems),
  };
  if (container.workingDir !== undefined && container.workingDir !== '') {
    problems.push(
      `Container "${container.name}" sets workingDir, which ACI cannot set; build the directory into the image or change to it in the command.`,
    );
  }
  const command = container.command ?? [];
  const args = container.args ?? [];
  if (command.length === 0 && args.length > 0) {
    problems.push(
      `Container "${container.name}" sets args but no command: ACI cannot keep an image's entrypoint while overriding its arguments, so the pod must set command (the entrypoint) as well.`,
    );
    return parts;
  }
  return command.length === 0 ? parts : { ...parts, command: [...command, ...args] };
}

function mounts(
  container: ResolvedContainer,
  volumeNames: ReadonlySet<string>,
  problems: string[],
): VolumeMount[] {
  const result: VolumeMount[] = [];
  for (const mount of container.volumeMounts) {
    if (mount.subPath !== undefined && mount.subPath !== '') {
      problems.push(
        `Container "${container.name}" mounts volume "${mount.name}" with subPath "${mount.subPath}", but ACI mounts only whole volumes.`,
      );
      continue;
    }
    if (!volumeNames.has(mount.name)) {
      problems.push(`Container "${container.name}" mounts volume "${mount.name}", which ACI was not given.`);
      continue;
    }
    result.push({ name: mount.name, mountPath: mount.mountPath, readOnly: mount.readOnly });
  }
  return result;
}
