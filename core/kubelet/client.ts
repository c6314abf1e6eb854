/**
 * The relay's side of the kubeletApi function: one signed POST per request. The relay holds
 * no cloud credentials; what needs the provider is asked of the function.
 */
import { errorMessage } from '../errors.ts';
import { relayRequestHeaders } from '../relay/outgoing.ts';
import type { KubeletApiRequest } from './protocol.ts';

export interface KubeletApiAnswer {
  status: number;
  body: unknown;
}

export type KubeletApiCall = (request: KubeletApiRequest, signal?: AbortSignal) => Promise<KubeletApiAnswer>;

export interface KubeletApiClientOptions {
  url: string;
  secret: string;
  /** Sent as x-functions-key when the function's URL does not carry its key. */
  functionKey?: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** One call may take this long. */
  timeoutMs?: number;
}

/** The kubeletApi function's URL next to podEvents': same app, same key. */
export function kubeletApiUrlFor(webhookUrl: string): string {
  const url = new URL(webhookUrl);
  url.pathname = url.pathname.replace(/[^/]*$/, 'kubeletApi');
  return url.toString();
}

export function kubeletApiClient(options: KubeletApiClientOptions): KubeletApiCall {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (request, signal) => {
    const body = JSON.stringify(request);
    const headers = relayRequestHeaders(options, body, now());
    let response: Response;
    try {
      response = await doFetch(options.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      return { status: 503, body: { error: `the kubeletApi function is unreachable: ${errorMessage(err)}` } };
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { error: text.slice(0, 500) || `HTTP ${response.status}` };
    }
    return { status: response.status, body: parsed };
  };
}
