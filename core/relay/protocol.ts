/**
 * The webhook between the in-cluster relay and the podEvents function. A request carries
 * identifiers only ("pokes"), never a spec: the function reads the pod from the API server,
 * so a forged or replayed poke can at most cause a harmless re-reconcile.
 *
 *   POST /api/podEvents
 *   x-funclet-signature: t=<epoch ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *   {"node":"vk-1","events":[{"type":"MODIFIED","namespace":"ns","name":"p","uid":"...","resourceVersion":"123"}]}
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'x-funclet-signature';
/** Requests signed longer ago (or further ahead) than this are refused as replays. */
export const replayWindowMs = 5 * 60_000;
/** Larger bodies are refused before they are read in full. */
export const maxBodyBytes = 1024 * 1024;
/** The relay sends at most this many pokes per request. */
export const maxEventsPerBatch = 100;

/**
 * ADDED, MODIFIED and DELETED mirror the watch events. RECHECK is the relay asking again about
 * a pod that podEvents said was still starting (or still being deleted): the pod may not have
 * changed in the API server, but its instance may have in the provider.
 */
export const PokeType = {
  ADDED: 'ADDED',
  MODIFIED: 'MODIFIED',
  DELETED: 'DELETED',
  RECHECK: 'RECHECK',
} as const;
export type PokeType = keyof typeof PokeType;

export interface Poke {
  type: PokeType;
  namespace: string;
  name: string;
  uid: string;
  /** Opaque: compared for equality only. */
  resourceVersion: string;
}

export interface PokeBatch {
  node: string;
  events: Poke[];
}

/** A pod podEvents wants poked again after `afterMs`, because its instance has not settled yet. */
export interface Recheck {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  afterMs: number;
}

/** podEvents' 2xx answer. */
export interface PokeResponse {
  results: unknown[];
  recheck?: Recheck[];
  /**
   * UIDs of pokes in the batch that podEvents had no time to start (its time budget ran out):
   * the relay sends those pokes again at once, in its next batch.
   */
  resend?: string[];
}

/** The longest a recheck may be put off; the resync timer covers anything slower. */
export const maxRecheckDelayMs = 60_000;

/**
 * What a podEvents answer asks of the relay: the rechecks, and the UIDs of pokes to send again.
 * Anything malformed is ignored (they are only hints; podResync covers whatever is lost).
 */
export function parseAnswer(body: string): { recheck: Recheck[]; resend: string[] } {
  let parsed: Partial<PokeResponse> | null;
  try {
    parsed = JSON.parse(body) as Partial<PokeResponse> | null;
  } catch {
    return { recheck: [], resend: [] };
  }
  if (typeof parsed !== 'object' || parsed === null) return { recheck: [], resend: [] };
  const recheck = Array.isArray(parsed.recheck)
    ? parsed.recheck.filter(
        (r): r is Recheck =>
          typeof r === 'object' &&
          typeof r.namespace === 'string' &&
          typeof r.name === 'string' &&
          typeof r.uid === 'string' &&
          typeof r.resourceVersion === 'string' &&
          typeof r.afterMs === 'number',
      )
    : [];
  const resend = Array.isArray(parsed.resend)
    ? parsed.resend.filter((u): u is string => typeof u === 'string')
    : [];
  return { recheck, resend };
}

export function sign(secret: string, body: string, timestampMs: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex');
  return `t=${timestampMs},v1=${mac}`;
}

export type Verification = { ok: true } | { ok: false; problem: string };

/** Checks the signature header against the body in constant time, and its age against the window. */
export function verify(
  secrets: readonly string[],
  body: string,
  header: string | null | undefined,
  nowMs: number,
): Verification {
  if (!header) return { ok: false, problem: 'missing signature' };
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  const given = parts.v1;
  if (!Number.isSafeInteger(t) || typeof given !== 'string' || !/^[0-9a-f]{64}$/.test(given)) {
    return { ok: false, problem: 'malformed signature' };
  }
  if (Math.abs(nowMs - t) > replayWindowMs)
    return { ok: false, problem: 'signature outside the replay window' };
  const givenBytes = Buffer.from(given, 'hex');
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
    if (timingSafeEqual(expected, givenBytes)) return { ok: true };
  }
  return { ok: false, problem: 'signature mismatch' };
}

export type Parsed = { ok: true; batch: PokeBatch } | { ok: false; problem: string };

const dns1123 = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses and validates a batch; any deviation from the schema refuses the whole request. */
export function parseBatch(body: string): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'body is not JSON' };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, problem: 'body must be an object' };
  const { node, events } = raw as { node?: unknown; events?: unknown };
  if (typeof node !== 'string' || !dns1123.test(node))
    return { ok: false, problem: 'node must be a node name' };
  if (!Array.isArray(events)) return { ok: false, problem: 'events must be an array' };
  if (events.length > maxEventsPerBatch)
    return { ok: false, problem: `at most ${maxEventsPerBatch} events per request` };
  const pokes: Poke[] = [];
  for (const [i, e] of events.entries()) {
    const p = e as Partial<Record<keyof Poke, unknown>> | null;
    if (
      typeof p !== 'object' ||
      p === null ||
      typeof p.type !== 'string' ||
      !(p.type in PokeType) ||
      typeof p.namespace !== 'string' ||
      !dns1123.test(p.namespace) ||
      typeof p.name !== 'string' ||
      !dns1123.test(p.name) ||
      typeof p.uid !== 'string' ||
      !/^[0-9a-fA-F-]{1,64}$/.test(p.uid) ||
      typeof p.resourceVersion !== 'string' ||
      p.resourceVersion.length > 64
    ) {
      return { ok: false, problem: `events[${i}] is not a valid poke` };
    }
    pokes.push({
      type: p.type as PokeType,
      namespace: p.namespace,
      name: p.name,
      uid: p.uid,
      resourceVersion: p.resourceVersion,
    });
  }
  return { ok: true, batch: { node, events: pokes } };
}
