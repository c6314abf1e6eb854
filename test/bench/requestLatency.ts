import { subscribe } from 'node:diagnostics_channel';
import { percentile } from './counters.ts';

/**
 * How long this process's HTTP requests wait for their answer (to the response headers), by
 * the host they go to: the API server's requests are made with undici (@kubernetes/client-node),
 * Table Storage's with node:http (the Azure SDK). Read through the runtime's diagnostics
 * channels, so nothing in the product is wrapped.
 */
export class RequestLatency {
  readonly #started = new WeakMap<object, { host: string; atMs: number }>();
  #samples = new Map<string, number[]>();

  constructor() {
    subscribe('undici:request:create', (message) => {
      const { request } = message as { request: { origin?: string } };
      this.#start(request, hostOf(request.origin));
    });
    subscribe('undici:request:headers', (message) => this.#end((message as { request: object }).request));
    subscribe('http.client.request.start', (message) => {
      const { request } = message as { request: { getHeader(name: string): string | undefined } };
      this.#start(request, request.getHeader('host') ?? '?');
    });
    subscribe('http.client.response.finish', (message) =>
      this.#end((message as { request: object }).request),
    );
  }

  reset(): void {
    this.#samples = new Map();
  }

  /** Per host: requests, and p50/p90/p99 ms to the response headers. */
  summary(): Record<string, { requests: number; p50: number; p90: number; p99: number }> {
    return Object.fromEntries(
      [...this.#samples].map(([host, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        const p = (q: number) => Math.round(percentile(sorted, q) * 10) / 10;
        return [host, { requests: sorted.length, p50: p(50), p90: p(90), p99: p(99) }];
      }),
    );
  }

  #start(request: object, host: string): void {
    this.#started.set(request, { host, atMs: performance.now() });
  }

  #end(request: object): void {
    const started = this.#started.get(request);
    if (!started) return;
    this.#started.delete(request);
    let list = this.#samples.get(started.host);
    if (!list) this.#samples.set(started.host, (list = []));
    list.push(performance.now() - started.atMs);
  }
}

function hostOf(origin: string | undefined): string {
  try {
    return new URL(origin ?? '').host;
  } catch {
    return '?';
  }
}
