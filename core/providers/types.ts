/**
 * What a provider receives and reports. Kubernetes types are kept where they are the contract
 * (probes); everything the kubelet resolves (env, volumes, pull secrets) arrives resolved.
 * Times are epoch milliseconds; CPU is in cores, memory in bytes.
 */
import type { V1Probe } from '@kubernetes/client-node';
import type { SecuritySetting } from './security.ts';

export const ProviderName = { aci: 'aci', ecs: 'ecs', mock: 'mock' } as const;
export type ProviderName = keyof typeof ProviderName;

export const PodPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
} as const;
export type PodPhase = keyof typeof PodPhase;

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** Identifies one provider instance (container group, ECS task, mock instance) of one pod. */
export interface ProviderRef {
  provider: ProviderName;
  /** The provider's own id: container group name, task ARN, mock instance id. */
  id: string;
  podUid: string;
}

/** What createPod answers: the instance's ref, and its view when the create call already told. */
export interface CreatedInstance extends ProviderRef {
  /**
   * What the provider changed of the pod's spec to run it (e.g. a grace period cut to its
   * maximum), each a sentence the pod gets as a Warning Event.
   */
  warnings?: { reason: string; message: string }[];
  /**
   * The instance as the provider described it in its answer to the create call, when it did.
   * Lets the first status post say what the provider says without asking it again.
   */
  view?: ProviderPodView;
}

export interface EnvVar {
  name: string;
  value: string;
  /** The value came from a Secret: providers store it as a secure value and never log it. */
  secret: boolean;
}

export interface ResourceAmounts {
  /** Cores, e.g. 0.25. */
  cpu?: number;
  memoryBytes?: number;
  /** nvidia.com/gpu and the like. */
  gpu?: number;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly: boolean;
  subPath?: string;
}

export interface ContainerPort {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
  name?: string;
}

export interface ResolvedContainer {
  name: string;
  image: string;
  /** Replaces the image's entrypoint when set. */
  command?: string[];
  /** Replaces the image's cmd when set. */
  args?: string[];
  workingDir?: string;
  env: EnvVar[];
  ports: ContainerPort[];
  requests: ResourceAmounts;
  limits: ResourceAmounts;
  volumeMounts: VolumeMount[];
  livenessProbe?: V1Probe;
  readinessProbe?: V1Probe;
  startupProbe?: V1Probe;
  /** Lifecycle hooks, securityContext and the like are carried for providers to refuse or honour. */
  hasLifecycleHooks: boolean;
  /**
   * `Always` on an init container makes it a native sidecar (Kubernetes 1.33): it starts in its
   * turn among the init containers, the next one starts once it has started, and it keeps running
   * beside the app containers without holding a finished pod open.
   */
  restartPolicy?: 'Always';
  /** The container's effective securityContext (its own over the pod's); absent when it sets none. */
  security?: ContainerSecurity;
}

/** What a container's securityContext asks for (security.ts decides what a provider does with it). */
export interface ContainerSecurity {
  privileged?: boolean;
  /** windowsOptions.hostProcess. */
  hostProcess?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  /** Each setting that restricts the container, by name (a permissive value is not listed). */
  settings: SecuritySetting[];
}

/** What the pod asks of its host, and the pod-wide security settings. */
export interface PodSecurity {
  /** Host namespaces asked for: network, PID, IPC. */
  hostNamespaces: ('network' | 'PID' | 'IPC')[];
  /** Pod-wide settings that restrict its containers: fsGroup, supplementalGroups, sysctls, hostUsers. */
  settings: SecuritySetting[];
}

/** One file of a ConfigMap, Secret, projected or downwardAPI volume. */
export interface VolumeFile {
  /** Relative to the mount point. */
  path: string;
  contentBase64: string;
  /** Octal permission bits, e.g. 0o644. */
  mode: number;
}

export type ResolvedVolume =
  | { name: string; kind: 'emptyDir'; sizeLimitBytes?: number; medium?: 'Memory' | '' }
  | {
      name: string;
      kind: 'files';
      source: 'configMap' | 'secret' | 'projected' | 'downwardAPI';
      files: VolumeFile[];
      /**
       * Injected by Kubernetes rather than asked for in the pod spec (the kube-api-access-*
       * service account token volume). A provider that cannot mount files leaves it out, with
       * its mounts, instead of refusing the pod.
       */
      automatic?: boolean;
    }
  | {
      name: string;
      kind: 'azureFile';
      shareName: string;
      storageAccountName: string;
      storageAccountKey: string;
      readOnly: boolean;
    }
  | { name: string; kind: 'unsupported'; type: string };

export interface RegistryCredential {
  server: string;
  username: string;
  password: string;
}

/** A pod with everything the kubelet resolves already resolved. */
export interface ResolvedPod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  os: 'linux' | 'windows';
  restartPolicy: RestartPolicy;
  containers: ResolvedContainer[];
  initContainers: ResolvedContainer[];
  volumes: ResolvedVolume[];
  imagePullCredentials: RegistryCredential[];
  nodeSelector: Record<string, string>;
  /** Which try this is: 0 for the first instance, n after n recreations (restarts done by Funclet). */
  attempt: number;
  /** Epoch ms of the pod's creationTimestamp. */
  createdAtMs: number;
  dnsConfig?: { nameservers: string[]; searches: string[]; options: { name: string; value?: string }[] };
  /** The pod's ServiceAccount (spec.serviceAccountName, `default` when unset). */
  serviceAccountName?: string;
  /** Absent when the pod asks for nothing of the host and sets no pod-wide security settings. */
  security?: PodSecurity;
  /** spec.terminationGracePeriodSeconds: how long a stopped container may take to exit (absent: 30). */
  terminationGracePeriodSeconds?: number;
}

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAtMs?: number } }
  | {
      terminated: {
        exitCode: number;
        reason?: string;
        message?: string;
        startedAtMs?: number;
        finishedAtMs?: number;
      };
    };

export interface ContainerView {
  name: string;
  /** For an init container: a native sidecar (restartPolicy Always), which runs beside the app containers. */
  sidecar?: boolean;
  image: string;
  state: ContainerState;
  /** Restarts the provider did by itself (e.g. ACI's restart policy). */
  restartCount: number;
  /** How the previous run ended, when the provider restarted the container itself. */
  lastState?: ContainerState;
  ready: boolean;
  containerId?: string;
}

/** How a pod's instance is stopped: as a kubelet stops a pod's containers. */
export interface StopOptions {
  /**
   * Seconds the containers have between SIGTERM and SIGKILL: the delete's grace period
   * (metadata.deletionGracePeriodSeconds), else spec.terminationGracePeriodSeconds. 0: kill at once.
   */
  gracePeriodSeconds: number;
}

/** What the provider says about one instance. */
export interface ProviderPodView {
  ref: ProviderRef;
  namespace: string;
  name: string;
  /** The node the instance is tagged with. */
  node: string;
  phase: PodPhase;
  reason?: string;
  message?: string;
  podIP?: string;
  startedAtMs?: number;
  containers: ContainerView[];
  initContainers: ContainerView[];
  /** True once the instance has been told to stop (deletePod) while it still runs. */
  stopping?: boolean;
  /** Provider-side events worth surfacing as Kubernetes Events (e.g. ACI instance view events). */
  events?: { reason: string; message: string; type: 'Normal' | 'Warning'; atMs: number }[];
}

export interface NodeCapacity {
  cpu: string;
  memory: string;
  pods: string;
  ephemeralStorage: string;
  gpu?: string;
}

/** What one containerLogs call asks for; kubectl's options after the kubelet's parsing. */
export interface LogRequest {
  /** Only the newest this many lines (applies without a cursor). */
  tailLines?: number;
  /** Only lines written at or after this time (applies without a cursor). */
  sinceMs?: number;
  /** Prefix each line with its RFC 3339 time with nanoseconds and a space, as the kubelet does. */
  timestamps?: boolean;
  /** Return at most this many bytes, cut at a character boundary. */
  limitBytes?: number;
  /** From an earlier chunk of the same container of the same instance: continue after it. */
  cursor?: string;
}

/** One chunk of a container's output. */
export interface LogChunk {
  /** Whole lines, each ending in a newline. */
  text: string;
  /** Opaque: pass it back to read what is written after this chunk. */
  cursor: string;
}

/** One container's figures at one time, as the kubelet's stats summary reports them. */
export interface ContainerStats {
  name: string;
  /** Epoch ms the container (this run of it) started; metrics-server pairs samples by it. */
  startedAtMs: number;
  /** Cumulative CPU time of this run, in core-nanoseconds. */
  cpuUsageCoreNanoSeconds: number;
  /** Current CPU use, in nanocores (1e9 = one core). */
  cpuUsageNanoCores: number;
  /** Memory that cannot be reclaimed: what `kubectl top` shows. */
  memoryWorkingSetBytes: number;
}

export interface PodStats {
  ref: ProviderRef;
  /** Epoch ms the figures describe. */
  atMs: number;
  containers: ContainerStats[];
}

export interface ProviderHealth {
  ok: boolean;
  /** Why not, in a sentence fit for a node condition message. */
  message?: string;
}
