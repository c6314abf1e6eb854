/**
 * One Kubernetes container as an ECS container definition. Pure: no AWS calls, so the mapping and
 * its refusals are unit-tested directly.
 */
import type { ContainerDefinition, HealthCheck } from '@aws-sdk/client-ecs';
import type { V1Probe } from '@kubernetes/client-node';
import { FuncletError, InvalidInputError } from '../../errors.ts';
import type { ResolvedContainer } from '../types.ts';
import { cpuUnits, mebibytes, type FargateSize } from './fargate-size.ts';
import { ecsContainerName, type EcsContainerKind } from './naming.ts';

/** Docker 20.10+ reserves at least 6 MiB per container; ECS advises never to ask for less. */
export const minContainerMemoryMiB = 6;

export interface ContainerContext {
  /** The pod's namespace: the awslogs stream prefix. */
  namespace: string;
  /** Where stdout/stderr go (awslogs), when a log group is configured. */
  logs?: { group: string; region: string };
  /** Names of the task volumes a container may mount. */
  volumes: ReadonlySet<string>;
  /**
   * The containers this one starts after (the init containers before it): each must have exited
   * 0 (SUCCESS), or for a sidecar have started (START).
   */
  after: readonly { containerName: string; condition: 'SUCCESS' | 'START' }[];
  /** Seconds between SIGTERM and SIGKILL when the task stops (task-definition.ts stopTimeoutFor). */
  stopTimeout?: number;
  /** Where this container's Secret values are in Secrets Manager: env name -> valueFrom. */
  secretEnv?: ReadonlyMap<string, string>;
  /** The Secrets Manager ARN of the credentials for this container's image registry. */
  repositoryCredentials?: string;
}

/** What a container needs at most: Kubernetes' max(request, limit) per resource. */
export function containerNeed(c: ResolvedContainer): FargateSize {
  return {
    cpu: cpuUnits(Math.max(c.requests.cpu ?? 0, c.limits.cpu ?? 0)),
    memoryMiB: mebibytes(Math.max(c.requests.memoryBytes ?? 0, c.limits.memoryBytes ?? 0)),
  };
}

/**
 * The container definition. App containers are essential and reserve their requests; init
 * containers are not essential, run in order before the app containers (dependsOn SUCCESS) and
 * reserve only the minimum, because they never run alongside the app containers and ECS sums every
 * container's reservation against the task size. A memory limit becomes the hard `memory` limit.
 *
 * Environment values from Secrets never enter the definition: they are `secrets` entries whose
 * `valueFrom` names the Secrets Manager key pod-secrets.ts stored them under, and a container
 * whose image registry has a pull secret gets `repositoryCredentials`. A Secret value without
 * such a reference is an error rather than a plain `environment` entry.
 */
export function containerDefinitionFor(
  c: ResolvedContainer,
  kind: EcsContainerKind,
  ctx: ContainerContext,
): ContainerDefinition {
  refuseUnsupported(c, kind, ctx);
  const requestedMemory = c.requests.memoryBytes ?? c.limits.memoryBytes ?? 0;
  // Sidecars run beside the app containers and reserve their requests as they do.
  const runsBeside = kind !== 'init';
  const memoryReservation = runsBeside
    ? Math.max(minContainerMemoryMiB, mebibytes(requestedMemory))
    : minContainerMemoryMiB;
  const memory =
    c.limits.memoryBytes === undefined
      ? undefined
      : Math.max(mebibytes(c.limits.memoryBytes), memoryReservation);
  const cpu = runsBeside ? cpuUnits(c.requests.cpu ?? c.limits.cpu ?? 0) : 0;

  const def: ContainerDefinition = {
    name: ecsContainerName(c.name, kind),
    image: c.image,
    // A sidecar is not essential: the task ends when its app containers have, whatever it does.
    essential: kind === 'app',
    cpu,
    memoryReservation,
    memory,
    // ECS keeps the two apart exactly as Kubernetes does: entryPoint replaces the image's
    // ENTRYPOINT (Kubernetes `command`), command replaces its CMD (Kubernetes `args`).
    entryPoint: c.command,
    command: c.args,
    workingDirectory: c.workingDir,
    environment: c.env.filter((e) => !e.secret).map((e) => ({ name: e.name, value: e.value })),
    secrets: secretsFor(c, ctx),
    repositoryCredentials:
      ctx.repositoryCredentials === undefined
        ? undefined
        : { credentialsParameter: ctx.repositoryCredentials },
    portMappings: c.ports.map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol === 'UDP' ? 'udp' : 'tcp',
    })),
    mountPoints: c.volumeMounts.map((m) => ({
      sourceVolume: m.name,
      containerPath: m.mountPath,
      readOnly: m.readOnly,
    })),
    dependsOn: ctx.after.length > 0 ? ctx.after.map((step) => ({ ...step })) : undefined,
    stopTimeout: ctx.stopTimeout,
    healthCheck: c.livenessProbe === undefined ? undefined : healthCheckFor(c.name, c.livenessProbe),
    // What ECS enforces of the securityContext (core/providers/security.ts refuses the rest).
    user: userFor(c),
    readonlyRootFilesystem: c.security?.readOnlyRootFilesystem,
    logConfiguration:
      ctx.logs === undefined
        ? undefined
        : {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': ctx.logs.group,
              'awslogs-region': ctx.logs.region,
              'awslogs-stream-prefix': ctx.namespace,
            },
          },
  };
  return def;
}

/**
 * An exec liveness probe becomes the container's ECS health check: an essential container that
 * turns UNHEALTHY stops the task, and Funclet relaunches the pod as it would restart a container.
 * ECS bounds each field, so values are clamped into its ranges (interval 5-300 s, timeout 2-60 s,
 * retries 1-10, start period 0-300 s). Readiness probes have no ECS counterpart and are not run:
 * a running container is reported ready unless its health check says UNHEALTHY.
 */
export function healthCheckFor(container: string, probe: V1Probe): HealthCheck {
  const command = probe.exec?.command;
  if (command === undefined || command.length === 0) {
    const kind = probe.httpGet ? 'httpGet' : probe.tcpSocket ? 'tcpSocket' : probe.grpc ? 'grpc' : 'empty';
    throw new InvalidInputError(
      `container ${container} has a ${kind} liveness probe; ECS can only run exec liveness probes (as a container health check)`,
    );
  }
  return {
    command: ['CMD', ...command],
    interval: clamp(probe.periodSeconds ?? 10, 5, 300),
    timeout: clamp(probe.timeoutSeconds ?? 1, 2, 60),
    retries: clamp(probe.failureThreshold ?? 3, 1, 10),
    startPeriod: clamp(probe.initialDelaySeconds ?? 0, 0, 300),
  };
}

function refuseUnsupported(c: ResolvedContainer, kind: EcsContainerKind, ctx: ContainerContext): void {
  const what = `${kind === 'init' ? 'init container' : kind === 'sidecar' ? 'sidecar' : 'container'} ${c.name}`;
  if (c.hasLifecycleHooks) {
    throw new InvalidInputError(`${what} has lifecycle hooks (postStart/preStop), which ECS cannot run`);
  }
  if (c.startupProbe !== undefined) {
    throw new InvalidInputError(
      `${what} has a startup probe, which ECS cannot run; use the liveness probe's initialDelaySeconds instead`,
    );
  }
  if ((c.requests.gpu ?? 0) > 0 || (c.limits.gpu ?? 0) > 0) {
    throw new InvalidInputError(`${what} asks for GPUs, which Fargate does not offer`);
  }
  for (const m of c.volumeMounts) {
    if (!ctx.volumes.has(m.name)) {
      throw new InvalidInputError(`${what} mounts volume ${m.name}, which the pod does not define`);
    }
    if (m.subPath !== undefined && m.subPath !== '') {
      throw new InvalidInputError(`${what} mounts volume ${m.name} with a subPath, which ECS cannot do`);
    }
  }
}

function secretsFor(c: ResolvedContainer, ctx: ContainerContext): ContainerDefinition['secrets'] {
  const secret = c.env.filter((e) => e.secret);
  if (secret.length === 0) return undefined;
  return secret.map((e) => {
    const valueFrom = ctx.secretEnv?.get(e.name);
    if (valueFrom === undefined)
      throw new FuncletError(
        `container ${c.name}: ${e.name} comes from a Secret but has no Secrets Manager reference`,
      );
    return { name: e.name, valueFrom };
  });
}

/** runAsUser and runAsGroup as ECS's `user` ("uid" or "uid:gid"). */
function userFor(c: ResolvedContainer): string | undefined {
  const { runAsUser, runAsGroup } = c.security ?? {};
  if (runAsUser === undefined) {
    if (runAsGroup !== undefined)
      throw new InvalidInputError(
        `container ${c.name} sets runAsGroup without runAsUser; ECS sets a group only together with a user`,
      );
    return undefined;
  }
  return runAsGroup === undefined ? String(runAsUser) : `${runAsUser}:${runAsGroup}`;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(n)));
}
