/**
 * What the relay sends to the function app, whatever it sends: the URL it may send to, and the
 * headers of each request (the HMAC signature over the body and the function key). Pokes
 * (webhook.ts) and the kubelet endpoint's calls use the same two helpers.
 */
import { isIP } from 'node:net';
import { sign, signatureHeader } from './protocol.ts';

/** The Functions host reads a function key from this header as well as from `?code=`. */
export const functionKeyHeader = 'x-functions-key';

/** How the relay authenticates to the function app. */
export interface RelayCredentials {
  /** The HMAC secret shared with the functions (FUNCLET_WEBHOOK_SECRET). */
  secret: string;
  /** The function key (FUNCLET_FUNCTION_KEY), when the functions' authLevel asks for one. */
  functionKey?: string;
}

/**
 * The headers of one signed request. The key goes in a header, never in the URL: a URL is what
 * proxies, access logs and error messages print.
 */
export function relayRequestHeaders(
  credentials: RelayCredentials,
  body: string,
  nowMs: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [signatureHeader]: sign(credentials.secret, body, nowMs),
  };
  if (credentials.functionKey !== undefined && credentials.functionKey !== '')
    headers[functionKeyHeader] = credentials.functionKey;
  return headers;
}

/**
 * Why the relay must not send to `url`, or undefined when it may: only https, except plain http
 * to a loopback address (a local run or a test); never a function key in the query.
 */
export function functionUrlProblem(url: string): string | undefined {
  if (!URL.canParse(url)) return 'must be an https:// URL';
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') {
    if (!isLoopback(parsed.hostname))
      return 'must be an https:// URL: plain http:// is accepted only to a loopback address';
  } else if (parsed.protocol !== 'https:') return 'must be an https:// URL';
  if (parsed.searchParams.has('code'))
    return 'carries the function key in its query (code=); give the URL without it and the key as FUNCLET_FUNCTION_KEY';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials';
  return undefined;
}

/** localhost, 127.0.0.0/8 or ::1, by their written form alone: nothing is looked up. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * A URL handed over with its key in the query (as the portal and `az functionapp function keys`
 * print it) split into the URL and the key, for `funclet attach`.
 */
export function splitFunctionKey(url: string): { url: string; functionKey?: string } {
  if (!URL.canParse(url)) return { url };
  const parsed = new URL(url);
  const key = parsed.searchParams.get('code');
  if (key === null) return { url };
  parsed.searchParams.delete('code');
  return { url: parsed.toString(), functionKey: key };
}
