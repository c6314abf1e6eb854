import type {
  CreatedInstance,
  LogOptions,
  NodeCapacity,
  ProviderHealth,
  ProviderName,
  ProviderPodView,
  ProviderRef,
  ResolvedPod,
} from './types.ts';

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

  /** Stops and removes the instance. Idempotent: an instance that is already gone is success. */
  deletePod(ref: ProviderRef): Promise<void>;

  /** The instance as the provider sees it now, or undefined when it does not exist. */
  getPod(ref: ProviderRef): Promise<ProviderPodView | undefined>;

  /** Every instance tagged with this node, whether or not a pod still owns it. */
  listPods(node: string): Promise<ProviderPodView[]>;

  /** What the node can hold; reported as the Node's capacity and allocatable. */
  capacity(node: string): Promise<NodeCapacity>;

  /** Whether the provider can take pods now; a failure makes the node NotReady. */
  health(): Promise<ProviderHealth>;
}

/** Optional: providers that can return container logs. Detected at runtime. */
export interface LogsProvider {
  logs(ref: ProviderRef, container: string, options: LogOptions): Promise<string>;
}

export function hasLogs(provider: Provider): provider is Provider & LogsProvider {
  return typeof (provider as Partial<LogsProvider>).logs === 'function';
}
