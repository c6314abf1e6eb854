/**
 * Reading a request body no larger than a cap. The cap holds while reading: a body sent without
 * Content-Length (chunked) is cut off, and its stream cancelled, as soon as it passes the cap,
 * so no more than `maxBytes` plus one chunk is ever held before the signature is checked.
 */
import type { ReadableStream } from 'node:stream/web';

export type CappedBody = { ok: true; text: string } | { ok: false; problem: 'body too large' };

export async function readCappedBody(
  body: ReadableStream | null,
  declaredLength: string | null,
  maxBytes: number,
): Promise<CappedBody> {
  // A declared length over the cap is refused before a byte is read.
  if (declaredLength !== null && Number(declaredLength) > maxBytes)
    return { ok: false, problem: 'body too large' };
  if (body === null) return { ok: true, text: '' };
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel('body too large').catch(() => undefined);
      return { ok: false, problem: 'body too large' };
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}
