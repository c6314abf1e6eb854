import { createHash } from 'node:crypto';
import { FuncletError } from '../errors.ts';

/**
 * What the relay reads from the API server: the pods bound to one node, listed in pages and
 * then watched. Only identifiers travel; the relay never needs a spec.
 */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  /** Opaque: compared for equality only. */
  resourceVersion: string;
}

/** A pod as the relay keeps it in view: its identifiers and what a kubelet acts on, digested. */
export interface WatchedPod extends PodRef {
  /**
   * A digest of the pod's spec, labels, annotations and deletion fields. Two versions of a pod
   * with the same intent differ only in status (or in fields no kubelet reads). Undefined when
   * not known: such a version always counts as changed.
   */
  intent?: string;
}

export interface PodListPage {
  pods: WatchedPod[];
  /** The list's resourceVersion: a watch from here sees every later change. */
  resourceVersion: string;
  /** Set when more pages follow. */
  continue: string | undefined;
}

export type PodWatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: WatchedPod }
  /** Nothing changed for us, but the watch has progressed to this resourceVersion. */
  | { type: 'BOOKMARK'; resourceVersion: string };

export interface PodWatchHandlers {
  /** The server accepted the watch (HTTP 200): the connection is healthy. */
  onOpen(): void;
  onEvent(event: PodWatchEvent): void;
}

export interface PodSource {
  /** One page of the pods with spec.nodeName = node, across all namespaces. */
  listPods(
    node: string,
    page: { limit: number; continue?: string },
    signal: AbortSignal,
  ): Promise<PodListPage>;
  /**
   * Watches the pods with spec.nodeName = node from `resourceVersion`, with bookmarks.
   * Resolves when the server ends the watch normally (its timeout); rejects with an
   * ApiStatusError for an HTTP error status or an ERROR event (410 when the resourceVersion
   * is too old), or with the transport's error.
   */
  watchPods(
    node: string,
    from: { resourceVersion: string; timeoutSeconds: number },
    handlers: PodWatchHandlers,
    signal: AbortSignal,
  ): Promise<void>;
}

/** The API server answered with a failure Status (as an HTTP status, or as a watch ERROR event). */
export class ApiStatusError extends FuncletError {
  readonly statusCode: number;
  readonly reason: string | undefined;
  constructor(message: string, options: { statusCode: number; reason?: string; cause?: unknown }) {
    super(message, options);
    this.statusCode = options.statusCode;
    this.reason = options.reason;
  }
}

/** 410 Gone: the resourceVersion (or continue token) is older than the server keeps; list again. */
export function isGone(err: unknown): boolean {
  return err instanceof ApiStatusError && err.statusCode === 410;
}

/** The identifiers of a pod object as the API server sends it; undefined when any is missing. */
export function podRefOf(object: unknown): PodRef | undefined {
  const m = (object as { metadata?: Record<string, unknown> } | null)?.metadata;
  if (
    typeof m?.namespace !== 'string' ||
    typeof m.name !== 'string' ||
    typeof m.uid !== 'string' ||
    typeof m.resourceVersion !== 'string'
  )
    return undefined;
  return { namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
}

/**
 * The digest of what a kubelet acts on in a pod object: the fields upstream virtual-kubelet
 * compares before it queues a pod again (spec, labels, annotations, deletionTimestamp,
 * deletionGracePeriodSeconds). Status, managedFields and resourceVersion are left out.
 */
export function podIntent(object: unknown): string {
  const o = (object ?? {}) as {
    spec?: unknown;
    metadata?: {
      labels?: unknown;
      annotations?: unknown;
      deletionTimestamp?: unknown;
      deletionGracePeriodSeconds?: unknown;
    };
  };
  const m = o.metadata ?? {};
  return createHash('sha256')
    .update(
      JSON.stringify([
        o.spec ?? null,
        m.labels ?? null,
        m.annotations ?? null,
        m.deletionTimestamp ?? null,
        m.deletionGracePeriodSeconds ?? null,
      ]),
    )
    .digest('base64url');
}

/** A pod object as the relay keeps it; undefined when an identifier is missing. */
export function watchedPodOf(object: unknown): WatchedPod | undefined {
  const ref = podRefOf(object);
  return ref && { ...ref, intent: podIntent(object) };
}

/** A metav1.Status body turned into an error; `fallbackCode` when it carries none. */
export function statusError(status: unknown, fallbackCode: number, attempted: string): ApiStatusError {
  const s = (status ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const statusCode = typeof s.code === 'number' ? s.code : fallbackCode;
  const reason = typeof s.reason === 'string' ? s.reason : undefined;
  const message = typeof s.message === 'string' ? s.message : `HTTP ${statusCode}`;
  return new ApiStatusError(`${attempted}: ${message}`, { statusCode, reason });
}

/**
 * One line of a watch stream ({"type": ..., "object": ...}). Returns the event, undefined for
 * a type the relay does not care about, or throws the ApiStatusError an ERROR event carries.
 */
export function parseWatchLine(line: string, node: string): PodWatchEvent | undefined {
  let parsed: { type?: unknown; object?: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch (err) {
    throw new FuncletError(`watching pods on node ${node}: the stream sent a line that is not JSON`, {
      cause: err,
    });
  }
  switch (parsed.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED': {
      const pod = watchedPodOf(parsed.object);
      if (!pod)
        throw new FuncletError(`watching pods on node ${node}: a ${parsed.type} event without pod metadata`);
      return { type: parsed.type, pod };
    }
    case 'BOOKMARK': {
      const rv = (parsed.object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata
        ?.resourceVersion;
      return typeof rv === 'string' && rv !== '' ? { type: 'BOOKMARK', resourceVersion: rv } : undefined;
    }
    case 'ERROR':
      throw statusError(parsed.object, 500, `watching pods on node ${node}`);
    default:
      return undefined;
  }
}
