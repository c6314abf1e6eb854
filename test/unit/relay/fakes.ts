/**
 * Fakes for the relay's three edges: time, the API server's pod list/watch, and the webhook.
 * Nothing here sleeps; `settle()` lets pending promise callbacks and I/O callbacks run.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../../core/relay/clock.ts';
import {
  ApiStatusError,
  type PodListPage,
  type PodRef,
  type PodSource,
  type PodWatchEvent,
  type PodWatchHandlers,
} from '../../../core/relay/podSource.ts';
import { parseBatch, signatureHeader, type PokeBatch } from '../../../core/relay/protocol.ts';

/** Lets every promise callback that is ready run (a few turns of the event loop, no waiting). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Settles until `check` holds; fails (naming `what`) if it never does. Still no waiting on time. */
export async function settleUntil(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await settle();
  }
  throw new Error(`never happened: ${what}`);
}

export class FakeClock implements Clock {
  #now: number;
  #timers: { id: number; at: number; fn: () => void }[] = [];
  #seq = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers armed and not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward, firing every timer that falls due on the way, in order, settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.clearTimeout(due.id);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
    await settle();
  }
}

export function pod(name: string, resourceVersion = '1', namespace = 'default'): PodRef {
  // A deterministic UUID-shaped UID per namespace/name, as the protocol wants hex and dashes.
  const hex = createHash('md5').update(`${namespace}/${name}`).digest('hex');
  const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { namespace, name, uid, resourceVersion };
}

/** One watch the relay opened; the test plays the API server's side of it. */
export class FakeWatch {
  readonly node: string;
  readonly from: { resourceVersion: string; timeoutSeconds: number };
  readonly #handlers: PodWatchHandlers;
  readonly #settle: { resolve(): void; reject(err: Error): void };
  closed = false;

  constructor(
    node: string,
    from: { resourceVersion: string; timeoutSeconds: number },
    handlers: PodWatchHandlers,
    settle: { resolve(): void; reject(err: Error): void },
  ) {
    this.node = node;
    this.from = from;
    this.#handlers = handlers;
    this.#settle = settle;
  }

  send(event: PodWatchEvent): void {
    if (this.closed) throw new Error('this watch is closed');
    this.#handlers.onEvent(event);
  }
  /** The server's timeout: a normal end. */
  end(): void {
    this.closed = true;
    this.#settle.resolve();
  }
  fail(err: Error): void {
    this.closed = true;
    this.#settle.reject(err);
  }
  /** An ERROR event carrying 410 Expired, as the API server sends when the resourceVersion is compacted. */
  expire(): void {
    this.fail(new ApiStatusError('too old resource version', { statusCode: 410, reason: 'Expired' }));
  }
}

/** An API server holding pods per node: pages lists by the limit asked, and hands each watch to the test. */
export class FakePodSource implements PodSource {
  readonly pods = new Map<string, PodRef[]>();
  listResourceVersion = '100';
  readonly lists: { node: string; limit: number; continue: string | undefined }[] = [];
  readonly watches: FakeWatch[] = [];
  /** Every watch the relay tried to open, including those that failed before opening. */
  watchAttempts = 0;
  /** Errors the next lists of a node throw, in order. */
  readonly listFailures = new Map<string, Error[]>();
  /** Errors the next watches fail with before opening, in order. */
  readonly watchFailures: Error[] = [];
  /** While set, every watch fails with it before opening (an API server that is down). */
  failEveryWatchWith: Error | undefined;

  listPods(
    node: string,
    page: { limit: number; continue?: string },
    signal: AbortSignal,
  ): Promise<PodListPage> {
    signal.throwIfAborted();
    this.lists.push({ node, limit: page.limit, continue: page.continue });
    const failure = this.listFailures.get(node)?.shift();
    if (failure) return Promise.reject(failure);
    const all = this.pods.get(node) ?? [];
    const start = Number(page.continue ?? 0);
    const end = start + page.limit;
    return Promise.resolve({
      pods: all.slice(start, end),
      resourceVersion: this.listResourceVersion,
      continue: end < all.length ? String(end) : undefined,
    });
  }

  watchPods(
    node: string,
    from: { resourceVersion: string; timeoutSeconds: number },
    handlers: PodWatchHandlers,
    signal: AbortSignal,
  ): Promise<void> {
    this.watchAttempts++;
    const failure = this.watchFailures.shift() ?? this.failEveryWatchWith;
    if (failure) return Promise.reject(failure);
    return new Promise<void>((resolve, reject) => {
      const watch = new FakeWatch(node, from, handlers, { resolve, reject });
      this.watches.push(watch);
      signal.addEventListener(
        'abort',
        () => {
          watch.closed = true;
          reject(new DOMException('aborted', 'AbortError'));
        },
        { once: true },
      );
      handlers.onOpen();
    });
  }

  /** The open watch of `node` (the most recent one). */
  watchOf(node: string): FakeWatch {
    const open = this.watches.filter((w) => w.node === node && !w.closed).at(-1);
    if (!open) throw new Error(`no open watch for node ${node}`);
    return open;
  }
}

export interface WebhookRequest {
  url: string;
  body: string;
  signature: string | null;
  contentType: string | null;
  /** The x-functions-key header. */
  functionKey: string | null;
  batch: PokeBatch;
  /** The fake clock's time when the request was made. */
  atMs: number;
}

export type WebhookReply = number | Error | Response | Promise<number | Response>;

/**
 * A webhook that records what it receives. `reply` is consulted per request: a status code,
 * a whole Response, an Error to throw as a network failure, or a promise of either (to hold
 * the request open). Default 200.
 */
export function fakeWebhook(
  clock: { now(): number },
  reply: (request: WebhookRequest) => WebhookReply = () => 200,
) {
  const requests: WebhookRequest[] = [];
  const fetchFake = (async (input: string | URL | Request, init?: RequestInit) => {
    await Promise.resolve();
    init?.signal?.throwIfAborted();
    const body = typeof init?.body === 'string' ? init.body : '';
    const headers = new Headers(init?.headers);
    const parsed = parseBatch(body);
    if (!parsed.ok) throw new Error(`the relay sent an invalid batch: ${parsed.problem}`);
    const request: WebhookRequest = {
      url: input instanceof Request ? input.url : input.toString(),
      body,
      signature: headers.get(signatureHeader),
      contentType: headers.get('content-type'),
      functionKey: headers.get('x-functions-key'),
      batch: parsed.batch,
      atMs: clock.now(),
    };
    requests.push(request);
    const answer = await reply(request);
    if (answer instanceof Error) throw answer;
    if (answer instanceof Response) return answer;
    return new Response(answer === 204 ? null : `status ${answer}`, { status: answer });
  }) as typeof fetch;
  return { fetch: fetchFake, requests };
}
