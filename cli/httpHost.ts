import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, type HttpResponseInit, type InvocationContext } from '../functions/azure.ts';

export type HttpFunction = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * Serves HTTP functions on loopback the way the Functions host routes them
 * (`/api/<name>`), for the local run. Each request gets a fresh InvocationContext.
 */
export async function serveFunctions(
  routes: Record<string, HttpFunction>,
  context: (name: string) => InvocationContext,
  port = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const name = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/^\/api\//, '');
      const handler = routes[name];
      if (!handler) {
        res.writeHead(404).end();
        return;
      }
      try {
        const response = await handler(await toHttpRequest(req), context(name));
        const body =
          response.jsonBody !== undefined
            ? JSON.stringify(response.jsonBody)
            : (response.body as string | undefined);
        res.writeHead(
          response.status ?? 200,
          response.jsonBody !== undefined ? { 'content-type': 'application/json' } : {},
        );
        res.end(body);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function toHttpRequest(req: IncomingMessage): Promise<HttpRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
  return new HttpRequest({
    method: req.method ?? 'GET',
    url: `http://127.0.0.1${req.url ?? '/'}`,
    headers,
    body: { string: Buffer.concat(chunks).toString('utf8') },
  });
}
