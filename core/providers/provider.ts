import type {
  CreatedInstance,
  LogChunk,
  LogRequest,
  NodeCapacity,
  ProviderHealth,
  ProviderName,
  ProviderPodView,
  ProviderRef,
  PodStats,
  ResolvedPod,
  StopOptions,
} from './types.ts';
import type { TerminalStdin } from './exec-terminal.ts';

/**
 * Runs pods somewhere else. Every method may be called from many function instances at once,
 * for the same pod, after a crash at any point: each is idempotent on the pod UID.
 *
 * Errors are classified (core/errors.ts): a pod the provider cannot run as given is an
 * InvalidInputError whose message is a sentence for the pod's status; a throttled backend is a
 * ThrottledError; "not found" is a NotFoundError. Every wrap keeps `cause`.
 */
export interface Provider {
  readonly name: ProviderName;

  /**
   * Starts the pod's instance and returns without waiting for it to run. Called again for the
   * same pod UID and attempt it must return the existing instance, never start a second one.
   * The answer carries the instance's view when the create call returned one anyway.
   */
  createPod(pod: ResolvedPod): Promise<CreatedInstance>;

  /**
   * The longest grace period the provider can give a stopping container, when it has one:
   * `seconds` (0: its containers are killed without SIGTERM) and why, a sentence completing
   * "The pod's grace period is N s, but ...". Absent: any grace period.
   */
  readonly gracePeriodLimit?: { seconds: number; why: string };

  /**
   * Stops and removes the instance. Idempotent: an instance that is already gone is success.
   * With `stop`, its containers are stopped as a kubelet stops them where the provider can:
   * SIGTERM, up to `gracePeriodSeconds` to exit, then SIGKILL. The call starts that and returns;
   * the instance stays (getPod answers it, `stopping`) until it has stopped, and a
   * call made again meanwhile neither restarts nor shortens the grace period. Without `stop`, or
   * where the provider cannot give a grace period, the instance is stopped at once.
   */
  deletePod(ref: ProviderRef, stop?: StopOptions): Promise<void>;

  /** The instance as the provider sees it now, or undefined when it does not exist. */
  getPod(ref: ProviderRef): Promise<ProviderPodView | undefined>;

  /** Every instance tagged with this node, whether or not a pod still owns it. */
  listPods(node: string): Promise<ProviderPodView[]>;

  /** What the node can hold; reported as the Node's capacity and allocatable. */
  capacity(node: string): Promise<NodeCapacity>;

  /** Whether the provider can take pods now; a failure makes the node NotReady. */
  health(): Promise<ProviderHealth>;
}

/**
 * Optional: providers that can read a container's output. Detected at runtime (hasLogs).
 *
 * One call reads one chunk of one container of one instance. Without a cursor it starts where
 * the request says (the whole log, the last `tailLines`, or lines at or after `sinceMs`); with a
 * cursor it returns only what was written after the chunk that handed it out, so a caller that
 * follows a log by calling again with each answer's cursor never sees a line twice and never
 * misses one. A container that has written nothing yet answers an empty chunk, not an error.
 */
export interface LogsProvider {
  containerLogs(ref: ProviderRef, container: string, request: LogRequest): Promise<LogChunk>;
}

export function hasLogs(provider: Provider): provider is Provider & LogsProvider {
  return typeof (provider as Partial<LogsProvider>).containerLogs === 'function';
}

/**
 * Optional: providers that can measure their instances' CPU and memory. Detected at runtime
 * (hasStats). Returns one entry per ref it has figures for (an instance too new to have any is
 * left out, not an error). CPU is reported as a cumulative counter, as the kubelet does, so
 * that metrics-server can take rates between two scrapes: it never decreases for one container
 * run, and `atMs` is the time the figures describe (the end of the provider's last sample, not
 * the time of the call).
 */
export interface StatsProvider {
  podStats(refs: readonly ProviderRef[]): Promise<PodStats[]>;
  /**
   * How often the provider's figures change (its metrics' grain): callers need not ask again
   * sooner. Absent: the figures are live.
   */
  readonly statsGrainMs?: number;
}

export function hasStats(provider: Provider): provider is Provider & StatsProvider {
  return typeof (provider as Partial<StatsProvider>).podStats === 'function';
}

/**
 * Optional: providers that know the IP a pod's instance will have before they create it (an
 * address they reserve, or derive, in advance). Detected at runtime (hasPodAddress). The answer
 * is what the pod's env gets for status.podIP, podIPs, hostIP and hostIPs, so it must be the
 * address the instance created next for this pod UID and attempt reports as its podIP.
 * Providers without it have those env fields refused, never resolved to an empty value.
 */
export interface PodAddressProvider {
  podAddress(pod: { node: string; uid: string; attempt: number }): Promise<string>;
}

export function hasPodAddress(provider: Provider): provider is Provider & PodAddressProvider {
  return typeof (provider as Partial<PodAddressProvider>).podAddress === 'function';
}

/** What the caller of `kubectl exec` asked for. */
export interface ExecSessionOptions {
  tty: boolean;
  stdin: boolean;
  /** The caller's terminal, when tty. */
  terminalSize?: { rows: number; cols: number };
}

/**
 * A terminal session in one container, as ACI's executeCommand answers it: a WebSocket that
 * takes `password` as its first message and then carries the terminal's bytes both ways, and the
 * line to type into it (exec-terminal.ts). It holds no provider credentials: the relay bridges
 * it to the caller as it is. The password is a secret: never logged.
 */
export interface ExecSession {
  url: string;
  password: string;
  input: string;
  stdin: TerminalStdin;
}

/**
 * Optional: providers that can run a command in a running container. Detected at runtime
 * (hasExec). Each call starts one session, used once; a container it cannot reach (not running,
 * gone) is a NotFoundError, a command or container it cannot run a command in an
 * InvalidInputError whose message says why and what to do instead.
 */
export interface ExecProvider {
  execSession(
    ref: ProviderRef,
    container: string,
    command: readonly string[],
    options: ExecSessionOptions,
  ): Promise<ExecSession>;
}

export function hasExec(provider: Provider): provider is Provider & ExecProvider {
  return typeof (provider as Partial<ExecProvider>).execSession === 'function';
}
