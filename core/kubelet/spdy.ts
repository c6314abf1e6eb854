/**
 * SPDY/3.1 framing, as the API server speaks it toward a kubelet for exec, attach and
 * port-forward (k8s.io/apimachinery's httpstream/spdy over moby/spdystream). One connection
 * carries many streams; the API server opens them (SYN_STREAM, odd ids) and the kubelet answers
 * each (SYN_REPLY).
 *
 * Frames (all integers big-endian):
 *   control: 1 bit C=1 | 15 bits version (3) | 16 bits type | 8 bits flags | 24 bits length | data
 *   data:    1 bit C=0 | 31 bits stream id                  | 8 bits flags | 24 bits length | data
 * Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are one zlib stream per connection and
 * direction, primed with the SPDY/3 dictionary and sync-flushed after each block.
 *
 * Reading: the inflater is re-run over everything the peer compressed so far, which keeps this
 * module synchronous; a session opens a handful of streams, and the total is capped.
 * Writing: header blocks go out as stored (uncompressed) deflate blocks, each followed by the
 * empty block of a sync flush: any zlib reader takes them, and they need no state beyond whether
 * the zlib header was sent.
 * Nothing here enforces flow control: the peer (spdystream) sends no SETTINGS and ignores
 * WINDOW_UPDATE, and the writer acknowledges what it reads so that a peer that counts could
 * carry on.
 */
import { constants, inflateSync } from 'node:zlib';

export const FrameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

/** RST_STREAM status codes. */
export const RstStatus = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5 } as const;
/** GOAWAY status codes. */
export const GoAwayStatus = { ok: 0, protocolError: 1, internalError: 2 } as const;

export type Headers = Record<string, string[]>;

export type SpdyFrame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | {
      type: 'synStream';
      streamId: number;
      associatedTo: number;
      priority: number;
      fin: boolean;
      unidirectional: boolean;
      headers: Headers;
    }
  | { type: 'synReply'; streamId: number; fin: boolean; headers: Headers }
  | { type: 'headers'; streamId: number; fin: boolean; headers: Headers }
  | { type: 'rstStream'; streamId: number; status: number }
  | { type: 'settings'; entries: { id: number; flags: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goAway'; lastGoodStreamId: number; status: number }
  | { type: 'windowUpdate'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number };

/** The peer broke the protocol: the connection cannot go on. */
export class SpdyProtocolError extends Error {
  override readonly name = 'SpdyProtocolError';
}

const version = 3;
const flagFin = 0x01;
const flagUnidirectional = 0x02;
/** The largest frame accepted; client-go writes at most 32 KiB of data per frame. */
export const maxFrameLength = 1024 * 1024;
/** The most compressed header bytes one connection may send: a session opens a few streams. */
const maxHeaderBytes = 256 * 1024;

/** Parses frames from a byte stream, however the bytes are split into chunks. */
export class SpdyReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly compressed: Buffer[] = [];
  private compressedLength = 0;
  private inflated = 0;

  /** The frames completed by this chunk, in order. Throws SpdyProtocolError. */
  push(chunk: Buffer): SpdyFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: SpdyFrame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUIntBE(5, 3);
      if (length > maxFrameLength) throw new SpdyProtocolError(`frame of ${length} bytes is too large`);
      if (this.pending.length < 8 + length) break;
      const head = this.pending.subarray(0, 8);
      const body = this.pending.subarray(8, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      frames.push(this.frame(head, Buffer.from(body)));
    }
    return frames;
  }

  private frame(head: Buffer, body: Buffer): SpdyFrame {
    const flags = head[4]!;
    const fin = (flags & flagFin) !== 0;
    if ((head[0]! & 0x80) === 0) {
      return { type: 'data', streamId: head.readUInt32BE(0) & 0x7fffffff, fin, data: body };
    }
    const frameVersion = head.readUInt16BE(0) & 0x7fff;
    if (frameVersion !== version) throw new SpdyProtocolError(`SPDY version ${frameVersion} is not 3`);
    const type = head.readUInt16BE(2);
    const need = (n: number) => {
      if (body.length < n) throw new SpdyProtocolError(`control frame ${type} is too short`);
    };
    switch (type) {
      case FrameType.synStream:
        need(10);
        return {
          type: 'synStream',
          streamId: body.readUInt32BE(0) & 0x7fffffff,
          associatedTo: body.readUInt32BE(4) & 0x7fffffff,
          priority: body[8]! >> 5,
          fin,
          unidirectional: (flags & flagUnidirectional) !== 0,
          headers: this.headerBlock(body.subarray(10)),
        };
      case FrameType.synReply:
      case FrameType.headers:
        need(4);
        return {
          type: type === FrameType.synReply ? 'synReply' : 'headers',
          streamId: body.readUInt32BE(0) & 0x7fffffff,
          fin,
          headers: this.headerBlock(body.subarray(4)),
        };
      case FrameType.rstStream:
        need(8);
        return {
          type: 'rstStream',
          streamId: body.readUInt32BE(0) & 0x7fffffff,
          status: body.readUInt32BE(4),
        };
      case FrameType.settings: {
        need(4);
        const count = body.readUInt32BE(0);
        need(4 + count * 8);
        const entries = Array.from({ length: count }, (_, i) => ({
          flags: body[4 + i * 8]!,
          id: body.readUIntBE(5 + i * 8, 3),
          value: body.readUInt32BE(8 + i * 8),
        }));
        return { type: 'settings', entries };
      }
      case FrameType.ping:
        need(4);
        return { type: 'ping', id: body.readUInt32BE(0) };
      case FrameType.goAway:
        need(8);
        return {
          type: 'goAway',
          lastGoodStreamId: body.readUInt32BE(0) & 0x7fffffff,
          status: body.readUInt32BE(4),
        };
      case FrameType.windowUpdate:
        need(8);
        return {
          type: 'windowUpdate',
          streamId: body.readUInt32BE(0) & 0x7fffffff,
          delta: body.readUInt32BE(4) & 0x7fffffff,
        };
      default:
        return { type: 'unknown', frameType: type };
    }
  }

  /** Decompresses one header block: the output the peer's zlib stream has produced since the last. */
  private headerBlock(block: Buffer): Headers {
    this.compressedLength += block.length;
    if (this.compressedLength > maxHeaderBytes)
      throw new SpdyProtocolError('the peer sent more header data than a session needs');
    this.compressed.push(block);
    let all: Buffer;
    try {
      all = inflateSync(Buffer.concat(this.compressed), {
        dictionary: headerDictionary,
        finishFlush: constants.Z_SYNC_FLUSH,
      });
    } catch (err) {
      throw new SpdyProtocolError(`header block does not decompress: ${(err as Error).message}`);
    }
    const out = all.subarray(this.inflated);
    this.inflated = all.length;
    return parseHeaders(out);
  }
}

function parseHeaders(block: Buffer): Headers {
  let at = 0;
  const uint = (): number => {
    if (at + 4 > block.length) throw new SpdyProtocolError('header block is truncated');
    const n = block.readUInt32BE(at);
    at += 4;
    return n;
  };
  const text = (): string => {
    const n = uint();
    if (at + n > block.length) throw new SpdyProtocolError('header block is truncated');
    const s = block.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  const headers: Headers = {};
  for (let count = uint(); count > 0; count--) {
    const name = text().toLowerCase();
    const values = text().split('\0');
    headers[name] = [...(headers[name] ?? []), ...values];
  }
  return headers;
}

/** Serializes frames; one per connection, because the header blocks share one zlib stream. */
export class SpdyWriter {
  private zlibHeaderSent = false;

  data(streamId: number, data: Buffer, fin = false): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(streamId & 0x7fffffff, 0);
    head.writeUIntBE(data.length, 5, 3);
    head[4] = fin ? flagFin : 0;
    return Buffer.concat([head, data]);
  }

  synReply(streamId: number, headers: Headers = {}, fin = false): Buffer {
    return this.control(FrameType.synReply, fin ? flagFin : 0, [uint31(streamId), this.headerBlock(headers)]);
  }

  synStream(streamId: number, headers: Headers, options: { fin?: boolean; priority?: number } = {}): Buffer {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(streamId & 0x7fffffff, 0);
    fixed[8] = ((options.priority ?? 0) & 0x7) << 5;
    return this.control(FrameType.synStream, options.fin ? flagFin : 0, [fixed, this.headerBlock(headers)]);
  }

  rstStream(streamId: number, status: number): Buffer {
    return this.control(FrameType.rstStream, 0, [uint31(streamId), uint32(status)]);
  }

  ping(id: number): Buffer {
    return this.control(FrameType.ping, 0, [uint32(id)]);
  }

  goAway(lastGoodStreamId: number, status: number = GoAwayStatus.ok): Buffer {
    return this.control(FrameType.goAway, 0, [uint31(lastGoodStreamId), uint32(status)]);
  }

  windowUpdate(streamId: number, delta: number): Buffer {
    return this.control(FrameType.windowUpdate, 0, [uint31(streamId), uint31(delta)]);
  }

  private control(type: number, flags: number, parts: Buffer[]): Buffer {
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x8000 | version, 0);
    head.writeUInt16BE(type, 2);
    head[4] = flags;
    head.writeUIntBE(body.length, 5, 3);
    return Buffer.concat([head, body]);
  }

  /** The block as one stored deflate block, after the zlib header on the connection's first. */
  private headerBlock(headers: Headers): Buffer {
    const entries = Object.entries(headers);
    const parts: Buffer[] = [uint32(entries.length)];
    for (const [name, values] of entries) {
      const n = Buffer.from(name.toLowerCase(), 'utf8');
      const v = Buffer.from(values.join('\0'), 'utf8');
      parts.push(uint32(n.length), n, uint32(v.length), v);
    }
    const raw = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    if (!this.zlibHeaderSent) {
      // CMF 0x78 (deflate, 32 KiB window), FLG 0x01: no preset dictionary, check bits valid.
      chunks.push(Buffer.from([0x78, 0x01]));
      this.zlibHeaderSent = true;
    }
    for (let at = 0; at < raw.length; at += 0xffff) chunks.push(storedBlock(raw.subarray(at, at + 0xffff)));
    // An empty stored block ends each header block, as a zlib sync flush does: a reader (Go's
    // flate) hands out a block's bytes only once it has seen the start of the next one, and it
    // must find that within this frame.
    chunks.push(storedBlock(Buffer.alloc(0)));
    return Buffer.concat(chunks);
  }
}

/** A non-final stored deflate block: BFINAL 0, BTYPE 00 padded to the byte, LEN, NLEN, bytes. */
function storedBlock(bytes: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt16LE(bytes.length, 1);
  head.writeUInt16LE(~bytes.length & 0xffff, 3);
  return Buffer.concat([head, bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function uint31(n: number): Buffer {
  return uint32(n & 0x7fffffff);
}

/**
 * The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1): header
 * names, each with a 4-byte length, then a run of common values.
 */
const headerDictionary: Buffer = (() => {
  const names = [
    'options',
    'head',
    'post',
    'put',
    'delete',
    'trace',
    'accept',
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'accept-ranges',
    'age',
    'allow',
    'authorization',
    'cache-control',
    'connection',
    'content-base',
    'content-encoding',
    'content-language',
    'content-length',
    'content-location',
    'content-md5',
    'content-range',
    'content-type',
    'date',
    'etag',
    'expect',
    'expires',
    'from',
    'host',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'last-modified',
    'location',
    'max-forwards',
    'pragma',
    'proxy-authenticate',
    'proxy-authorization',
    'range',
    'referer',
    'retry-after',
    'server',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'user-agent',
    'vary',
    'via',
    'warning',
    'www-authenticate',
    'method',
    'get',
    'status',
    '200 OK',
    'version',
    'HTTP/1.1',
    'url',
    'public',
    'set-cookie',
    'keep-alive',
    'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request' +
    '401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented' +
    '503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, ' +
    'Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,' +
    'application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch' +
    'charset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  return Buffer.concat([
    ...names.flatMap((n) => [uint32(n.length), Buffer.from(n, 'latin1')]),
    Buffer.from(tail, 'latin1'),
  ]);
})();

/** For tests: the dictionary's length and checksum-relevant bytes. */
export const spdyHeaderDictionary: Buffer = headerDictionary;
