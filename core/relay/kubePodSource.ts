import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { FuncletError } from '../errors.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  parseWatchLine,
  statusError,
  type PodListPage,
  type PodSource,
  type PodWatchHandlers,
  type WatchedPod,
  watchedPodOf,
} from './podSource.ts';

/** A list body larger than this is refused rather than held in memory (500 pods are a few MB). */
const maxListBytes = 64 * 1024 * 1024;
/** Error bodies are read this far, for the message. */
const maxErrorBytes = 64 * 1024;
/** A watch still open this long after the timeout the server was asked for is presumed dead. */
const watchGraceMs = 30_000;

/**
 * Lists and watches pods with plain streaming GETs on /api/v1/pods, authenticated by the
 * KubeConfig (bearer token, in-cluster token file re-read as it rotates, client
 * certificates; CA). Plain HTTP rather than the generated client because a watch must be a
 * long-lived stream whose end, status and ERROR events the relay handles itself.
 */
export function kubePodSource(kubeConfig: KubeConfig, clock: Clock = systemClock): PodSource {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new FuncletError('the relay kubeconfig has no current cluster');
  const podsUrl = (query: Record<string, string>) => {
    const url = new URL(cluster.server.replace(/\/+$/, '') + '/api/v1/pods');
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  };

  const get = async (url: URL, signal: AbortSignal, attempted: string): Promise<http.IncomingMessage> => {
    const options: https.RequestOptions = {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'funclet-relay' },
      signal,
    };
    await kubeConfig.applyToHTTPSOptions(options);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = (url.protocol === 'http:' ? http.request : https.request)(url, options, resolve);
      request.on('error', reject);
      request.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
      request.end();
    });
    if (response.statusCode !== 200) {
      const statusCode = response.statusCode ?? 500;
      const text = await readBody(response, maxErrorBytes, attempted).catch(() => '');
      let status: unknown;
      try {
        status = JSON.parse(text);
      } catch {
        status = { message: text.slice(0, 300) || `HTTP ${statusCode}` };
      }
      // The HTTP status decides: a Status body's code is informative only.
      throw statusError({ ...(status as object), code: statusCode }, statusCode, attempted);
    }
    return response;
  };

  return {
    async listPods(node, page, signal): Promise<PodListPage> {
      const attempted = `listing pods on node ${node}`;
      const query: Record<string, string> = {
        fieldSelector: `spec.nodeName=${node}`,
        limit: String(page.limit),
      };
      if (page.continue !== undefined) query.continue = page.continue;
      const response = await get(podsUrl(query), signal, attempted);
      const list = JSON.parse(await readBody(response, maxListBytes, attempted)) as {
        metadata?: { resourceVersion?: unknown; continue?: unknown };
        items?: unknown[];
      };
      const resourceVersion = list.metadata?.resourceVersion;
      if (typeof resourceVersion !== 'string' || resourceVersion === '')
        throw new FuncletError(`${attempted}: the list has no resourceVersion`);
      const pods = (list.items ?? []).map(watchedPodOf).filter((p): p is WatchedPod => p !== undefined);
      const next = list.metadata?.continue;
      return { pods, resourceVersion, continue: typeof next === 'string' && next !== '' ? next : undefined };
    },

    async watchPods(node, from, handlers: PodWatchHandlers, signal): Promise<void> {
      const attempted = `watching pods on node ${node}`;
      const controller = new AbortController();
      const both = AbortSignal.any([signal, controller.signal]);
      const guard = clock.setTimeout(
        () => {
          controller.abort(new FuncletError(`${attempted}: the server did not end the watch at its timeout`));
        },
        from.timeoutSeconds * 1000 + watchGraceMs,
      );
      try {
        const response = await get(
          podsUrl({
            watch: '1',
            allowWatchBookmarks: 'true',
            resourceVersion: from.resourceVersion,
            timeoutSeconds: String(from.timeoutSeconds),
            fieldSelector: `spec.nodeName=${node}`,
          }),
          both,
          attempted,
        );
        handlers.onOpen();
        await new Promise<void>((resolve, reject) => {
          let buffered = '';
          const fail = (err: unknown) => {
            response.destroy();
            reject(err instanceof Error ? err : new FuncletError(`${attempted}: ${String(err)}`));
          };
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            buffered += chunk;
            let newline: number;
            while ((newline = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (line === '') continue;
              try {
                const event = parseWatchLine(line, node);
                if (event) handlers.onEvent(event);
              } catch (err) {
                fail(err);
                return;
              }
            }
          });
          response.on('error', fail);
          // 'close' comes last whatever happened; only a complete response is a normal end.
          response.on('close', () => {
            if (!response.complete) fail(new FuncletError(`${attempted}: the connection was cut`));
            else if (buffered.trim() !== '')
              fail(new FuncletError(`${attempted}: the stream ended mid-event`));
            else resolve();
          });
        });
      } catch (err) {
        // Our own guard ending a stuck watch is a normal end: resume from the last resourceVersion.
        if (controller.signal.aborted && !signal.aborted) return;
        throw err;
      } finally {
        clock.clearTimeout(guard);
      }
    },
  };
}

function readBody(response: http.IncomingMessage, maxBytes: number, attempted: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        response.destroy(new FuncletError(`${attempted}: the response is larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}
