/**
 * A pod as an ECS task definition for Fargate. Pure: the whole mapping, every refusal and the
 * family name are decided here without AWS.
 *
 * The family is derived from a hash of the definition's content, so pods with identical specs
 * share one family (and, in practice, one revision): the registry looks the family up before it
 * registers anything.
 */
import type {
  ContainerDefinition,
  RegisterTaskDefinitionCommandInput,
  RuntimePlatform,
  Volume,
} from '@aws-sdk/client-ecs';
import { InvalidInputError } from '../../errors.ts';
import type { ResolvedPod, ResolvedVolume } from '../types.ts';
import { Setting } from '../../config.ts';
import { containerDefinitionFor, containerNeed, type ContainerContext } from './container-definition.ts';
import { fargateSizeFor, type FargateSize } from './fargate-size.ts';
import { ecsContainerName, familyPrefix, initKind, sha256Hex } from './naming.ts';
import type { PodSecretRefs } from './pod-secrets.ts';

export const EcsAnnotation = {
  /** No longer honoured: a pod's task role comes from its ServiceAccount (taskRoleFor). */
  taskRole: 'funclet.io/ecs-task-role',
  /** FARGATE (default) or FARGATE_SPOT. */
  capacityProvider: 'funclet.io/ecs-capacity-provider',
} as const;

export interface TaskDefinitionSettings {
  region: string;
  executionRoleArn?: string;
  /** The role of pods no entry of taskRoles covers. */
  taskRoleArn?: string;
  /** `namespace/serviceaccount` or `namespace` -> role ARN (FUNCLET_ECS_TASK_ROLES). */
  taskRoles: Readonly<Record<string, string>>;
  logGroup?: string;
}

/** A task definition holds at most 10 containers. */
const maxContainers = 10;
/** Fargate's default task storage; a larger ephemeralStorage may be asked for up to 200 GiB. */
const defaultStorageGiB = 20;
const maxStorageGiB = 200;
const gib = 1024 * 1024 * 1024;

export type TaskDefinitionInput = RegisterTaskDefinitionCommandInput & { family: string };

/**
 * `secrets` says where the pod's Secret values and registry credentials are (pod-secrets.ts);
 * a pod with either needs it, and an execution role to read them.
 */
export function taskDefinitionFor(
  input: ResolvedPod,
  settings: TaskDefinitionSettings,
  secrets?: PodSecretRefs,
): TaskDefinitionInput {
  const pod = withoutAutomaticVolumes(input);
  if (pod.containers.length === 0) throw new InvalidInputError('the pod has no containers');
  const total = pod.containers.length + pod.initContainers.length;
  if (total > maxContainers) {
    throw new InvalidInputError(
      `the pod has ${total} containers (init containers included); an ECS task holds at most ${maxContainers}`,
    );
  }

  const volumes = taskVolumes(pod);
  const volumeNames = new Set(volumes.map((v) => v.name ?? ''));
  const logs =
    settings.logGroup === undefined ? undefined : { group: settings.logGroup, region: settings.region };
  // Init containers run one after another, each once the one before it has exited 0 (SUCCESS) or,
  // for a sidecar, has started (START); the app containers once all of them have.
  const initSteps = pod.initContainers.map((c) => ({
    containerName: ecsContainerName(c.name, initKind(c)),
    condition: initKind(c) === 'sidecar' ? ('START' as const) : ('SUCCESS' as const),
  }));
  const stop = stopTimeoutFor(pod);
  const containerDefinitions: ContainerDefinition[] = [
    ...pod.containers.map((c) =>
      containerDefinitionFor(c, 'app', {
        namespace: pod.namespace,
        logs,
        volumes: volumeNames,
        after: initSteps,
        stopTimeout: stop.seconds,
        ...secretsOf(secrets, ecsContainerName(c.name, 'app')),
      }),
    ),
    ...pod.initContainers.map((c, i) =>
      containerDefinitionFor(c, initKind(c), {
        namespace: pod.namespace,
        logs,
        volumes: volumeNames,
        after: initSteps.slice(Math.max(0, i - 1), i),
        stopTimeout: stop.seconds,
        ...secretsOf(secrets, ecsContainerName(c.name, initKind(c))),
      }),
    ),
  ];

  if (secrets !== undefined && settings.executionRoleArn === undefined)
    throw new InvalidInputError(
      `the pod uses Secret values or image pull secrets, which its task reads from AWS Secrets Manager with the task execution role; ${Setting.ecsExecutionRoleArn} is not set`,
    );
  const size = fargateSizeFor(podNeed(pod, containerDefinitions), pod.os);
  const storageGiB = ephemeralStorageGiB(pod.volumes);
  const content: Omit<RegisterTaskDefinitionCommandInput, 'family'> = {
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: String(size.cpu),
    memory: String(size.memoryMiB),
    runtimePlatform: runtimePlatformFor(pod),
    taskRoleArn: taskRoleFor(pod, settings),
    executionRoleArn: settings.executionRoleArn,
    containerDefinitions,
    volumes: volumes.length > 0 ? volumes : undefined,
    ephemeralStorage: storageGiB === undefined ? undefined : { sizeInGiB: storageGiB },
  };
  return { family: familyFor(content), ...content };
}

function secretsOf(
  secrets: PodSecretRefs | undefined,
  ecsName: string,
): Pick<ContainerContext, 'secretEnv' | 'repositoryCredentials'> {
  if (secrets === undefined) return {};
  return {
    secretEnv: secrets.env.get(ecsName),
    repositoryCredentials: secrets.repositoryCredentials.get(ecsName),
  };
}

/** `funclet-` plus 32 hex digits (128 bits) of SHA-256 over the canonical JSON of the definition. */
export function familyFor(content: object): string {
  return `${familyPrefix}${sha256Hex(canonicalJson(content)).slice(0, 32)}`;
}

/**
 * What the task must hold: Kubernetes' effective pod resources (app containers together, or the
 * largest init container, whichever is more), and never less than the sum of what the container
 * definitions reserve, which ECS checks against the task size.
 */
function podNeed(pod: ResolvedPod, defs: readonly ContainerDefinition[]): FargateSize {
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  // Sidecars run beside the app containers: they count with them.
  const app = [...pod.initContainers.filter((c) => initKind(c) === 'sidecar'), ...pod.containers].map(
    containerNeed,
  );
  const init = pod.initContainers.filter((c) => initKind(c) === 'init').map(containerNeed);
  return {
    cpu: Math.max(sum(app.map((n) => n.cpu)), ...init.map((n) => n.cpu), sum(defs.map((d) => d.cpu ?? 0))),
    memoryMiB: Math.max(
      sum(app.map((n) => n.memoryMiB)),
      ...init.map((n) => n.memoryMiB),
      sum(defs.map((d) => d.memoryReservation ?? 0)),
      ...defs.map((d) => d.memory ?? 0),
    ),
  };
}

/**
 * Kubernetes mounts a service account token volume (kube-api-access-*) into every pod unless it
 * opts out. Fargate cannot mount files without EFS, and refusing every pod for a volume nobody
 * asked for would help no one: the task runs without it, so its containers get no Kubernetes API
 * token. Volumes the pod asks for itself are still refused below.
 */
function withoutAutomaticVolumes(pod: ResolvedPod): ResolvedPod {
  const automatic = new Set(
    pod.volumes.filter((v) => v.kind === 'files' && v.automatic === true).map((v) => v.name),
  );
  if (automatic.size === 0) return pod;
  const strip = (c: ResolvedPod['containers'][number]) => ({
    ...c,
    volumeMounts: c.volumeMounts.filter((m) => !automatic.has(m.name)),
  });
  return {
    ...pod,
    volumes: pod.volumes.filter((v) => !automatic.has(v.name)),
    containers: pod.containers.map(strip),
    initContainers: pod.initContainers.map(strip),
  };
}

/**
 * Only emptyDir has a Fargate counterpart (task storage shared by the task's containers).
 * ConfigMap, Secret, projected and downwardAPI files and Azure Files would need EFS, which Funclet
 * does not set up: a mounted volume of those kinds is refused with a sentence naming it. Volumes
 * no container mounts change nothing and are left out.
 */
function taskVolumes(pod: ResolvedPod): Volume[] {
  const mounted = new Set(
    [...pod.containers, ...pod.initContainers].flatMap((c) => c.volumeMounts.map((m) => m.name)),
  );
  const out: Volume[] = [];
  for (const v of pod.volumes) {
    if (!mounted.has(v.name)) continue;
    out.push(taskVolume(v));
  }
  return out;
}

function taskVolume(v: ResolvedVolume): Volume {
  switch (v.kind) {
    case 'emptyDir':
      if (v.medium === 'Memory') {
        throw new InvalidInputError(
          `volume ${v.name} is a memory-backed emptyDir; Fargate cannot mount tmpfs volumes`,
        );
      }
      return { name: v.name };
    case 'files':
      throw new InvalidInputError(
        `volume ${v.name} is a ${v.source} volume; ECS on Fargate cannot mount ${v.source} files without EFS, which Funclet does not set up`,
      );
    case 'azureFile':
      throw new InvalidInputError(
        `volume ${v.name} is an Azure Files share, which ECS on Fargate cannot mount`,
      );
    case 'unsupported':
      throw new InvalidInputError(`volume ${v.name} is of type ${v.type}, which ECS on Fargate cannot mount`);
  }
}

/**
 * Kubernetes has no pod-level ephemeral-storage field that reaches the provider, so the task gets
 * Fargate's default 20 GiB plus whatever the emptyDir volumes' sizeLimits add up to.
 */
function ephemeralStorageGiB(volumes: readonly ResolvedVolume[]): number | undefined {
  const bytes = volumes.reduce((sum, v) => sum + (v.kind === 'emptyDir' ? (v.sizeLimitBytes ?? 0) : 0), 0);
  if (bytes === 0) return undefined;
  const size = defaultStorageGiB + Math.ceil(bytes / gib);
  if (size > maxStorageGiB) {
    throw new InvalidInputError(
      `the pod's emptyDir volumes ask for ${Math.ceil(bytes / gib)} GiB; a Fargate task has at most ${maxStorageGiB - defaultStorageGiB} GiB beyond its default storage`,
    );
  }
  return size;
}

const archToCpu: Record<string, 'X86_64' | 'ARM64'> = { amd64: 'X86_64', arm64: 'ARM64' };

function runtimePlatformFor(pod: ResolvedPod): RuntimePlatform {
  const arch = pod.nodeSelector['kubernetes.io/arch'] ?? 'amd64';
  const cpuArchitecture = archToCpu[arch];
  if (cpuArchitecture === undefined) {
    throw new InvalidInputError(
      `the pod selects kubernetes.io/arch=${arch}; Fargate runs amd64 and arm64 only`,
    );
  }
  if (pod.os === 'windows') {
    if (cpuArchitecture !== 'X86_64')
      throw new InvalidInputError('Windows tasks on Fargate run on amd64 only');
    return { operatingSystemFamily: 'WINDOWS_SERVER_2022_CORE', cpuArchitecture };
  }
  return { operatingSystemFamily: 'LINUX', cpuArchitecture };
}

/**
 * The task role the operator maps the pod's ServiceAccount to, as IRSA does: its own entry
 * (`namespace/serviceaccount`), else its namespace's, else the node's default role, if any.
 * Whoever may create pods in a namespace may use its ServiceAccounts anyway; nothing in the pod
 * itself picks a role. A pod still carrying the old annotation is refused, so that it does not
 * run with another role than its author expects.
 */
export function taskRoleFor(pod: ResolvedPod, settings: TaskDefinitionSettings): string | undefined {
  if (pod.annotations[EcsAnnotation.taskRole] !== undefined) {
    throw new InvalidInputError(
      `annotation ${EcsAnnotation.taskRole} is not honoured: a pod's task role comes from its ServiceAccount, which the operator maps to roles in FUNCLET_ECS_TASK_ROLES`,
    );
  }
  const account = pod.serviceAccountName ?? 'default';
  return (
    settings.taskRoles[`${pod.namespace}/${account}`] ??
    settings.taskRoles[pod.namespace] ??
    settings.taskRoleArn
  );
}

/** JSON with object keys sorted and undefined members dropped, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** Fargate's bounds on a container's stopTimeout: the time between SIGTERM and SIGKILL. */
export const fargateStopTimeoutSeconds = { min: 2, max: 120 } as const;

/**
 * Each container's stopTimeout: the pod's terminationGracePeriodSeconds (30 when unset, as
 * ECS's own default), brought into Fargate's 2-120 s; `cut` says so when it had to be.
 */
export function stopTimeoutFor(pod: ResolvedPod): { seconds: number; cut?: string } {
  const asked = pod.terminationGracePeriodSeconds ?? 30;
  const { min, max } = fargateStopTimeoutSeconds;
  const seconds = Math.min(max, Math.max(min, Math.round(asked)));
  if (seconds === asked) return { seconds };
  return {
    seconds,
    cut: `Fargate gives a container ${min} to ${max} s between SIGTERM and SIGKILL (its stopTimeout), so the pod's terminationGracePeriodSeconds of ${asked} s is ${seconds} s on ECS`,
  };
}
