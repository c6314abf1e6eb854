import { HttpRequest } from '../../functions/azure.ts';
import { sign, signatureHeader, type Poke } from '../../core/relay/protocol.ts';

/** A POST to podEvents as the relay would send it (signed now unless told otherwise). */
export function pokeRequest(
  secret: string,
  node: string,
  events: Poke[],
  options: { timestampMs?: number; body?: string; signature?: string | null } = {},
): HttpRequest {
  const body = options.body ?? JSON.stringify({ node, events });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature =
    options.signature === undefined
      ? sign(secret, body, options.timestampMs ?? Date.now())
      : options.signature;
  if (signature !== null) headers[signatureHeader] = signature;
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/podEvents',
    body: { string: body },
    headers,
  });
}
