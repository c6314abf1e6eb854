/**
 * Pokes nobody meant to send, sent straight to podEvents beside the relay's: the relay's own
 * requests duplicated, reordered and replayed byte for byte; requests forged without the secret
 * (unsigned, signed with another secret, a real signature over an altered body, a real signature
 * from outside the replay window); and correctly signed pokes that lie (a live pod's UID under
 * another name, DELETED for a pod that is not being deleted). Forged requests must all be
 * refused; everything else may be accepted but must change nothing (the invariants check that).
 */
import { randomBytes } from 'node:crypto';
import { replayWindowMs, sign, signatureHeader, type Poke } from '../../core/relay/protocol.ts';
import { pick } from '../support/random.ts';
import type { SentRequest, World } from './world.ts';

export interface PokeTally {
  /** Requests without a valid signature, and how many podEvents answered 2xx. */
  forged: number;
  forgedAccepted: number;
  /** Authentic requests sent again (duplicated, reordered, replayed) and lying signed pokes. */
  repeated: number;
  lying: number;
}

export function emptyTally(): PokeTally {
  return { forged: 0, forgedAccepted: 0, repeated: 0, lying: 0 };
}

async function post(world: World, body: string, signature: string | undefined): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers[signatureHeader] = signature;
  try {
    const res = await fetch(world.webhookUrl, { method: 'POST', headers, body });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** One round of each kind, drawn from `random`; adds what it sent to `tally`. */
export async function sendUnwantedPokes(world: World, random: () => number, tally: PokeTally): Promise<void> {
  const sent = world.sent();
  const some = (): SentRequest | undefined => sent[pick(random, sent.length)];

  // Authentic requests again: one twice at once, two in the wrong order, an old one replayed.
  const first = some();
  const second = some();
  if (first) {
    await Promise.all([post(world, first.body, first.signature), post(world, first.body, first.signature)]);
    tally.repeated += 2;
  }
  if (first && second) {
    const [newer, older] = sent.indexOf(first) > sent.indexOf(second) ? [first, second] : [second, first];
    await post(world, newer.body, newer.signature);
    await post(world, older.body, older.signature);
    tally.repeated += 2;
  }
  const oldest = sent[0];
  if (oldest) {
    await post(world, oldest.body, oldest.signature);
    tally.repeated++;
  }

  // Forged: none of these carries a signature the secret made for this body, now.
  const pods = (await world.core.listNamespacedPod({ namespace: world.namespace })).items.filter(
    (p) => p.spec?.nodeName !== undefined,
  );
  const target = pods[pick(random, pods.length)];
  const node = target?.spec?.nodeName ?? world.nodes.aci;
  const deleted: Poke = {
    type: 'DELETED',
    namespace: world.namespace,
    name: target?.metadata?.name ?? 'nobody',
    uid: target?.metadata?.uid ?? '00000000-0000-0000-0000-000000000000',
    resourceVersion: target?.metadata?.resourceVersion ?? '1',
  };
  const body = JSON.stringify({ node, events: [deleted] });
  const now = Date.now();
  const forgeries: [string, string | undefined][] = [
    [body, undefined],
    [body, sign(randomBytes(32).toString('hex'), body, now)],
    [body, 't=0,v1=zz'],
    [body, sign(world.secret, body, now - replayWindowMs - 60_000)],
  ];
  if (first) {
    // The relay's signature over a body that now says something else.
    const altered = first.body.replace(/"type":"(ADDED|MODIFIED|RECHECK)"/, '"type":"DELETED"');
    forgeries.push([altered === first.body ? `${first.body} ` : altered, first.signature]);
  }
  for (const [text, signature] of forgeries) {
    const status = await post(world, text, signature);
    tally.forged++;
    if (status >= 200 && status < 300) tally.forgedAccepted++;
  }

  // Signed, but lying: neither may delete or duplicate anything.
  if (target) {
    const lies: Poke[] = [
      deleted,
      { ...deleted, type: 'MODIFIED', name: `${deleted.name}-other` },
      { ...deleted, type: 'ADDED', resourceVersion: '1' },
    ];
    const lieBody = JSON.stringify({ node, events: lies });
    await post(world, lieBody, sign(world.secret, lieBody, Date.now()));
    tally.lying += lies.length;
  }
}
