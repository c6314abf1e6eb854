/**
 * A TLS proxy in front of the API server that counts the requests passing through it, for a
 * node whose own process cannot count them (upstream virtual-kubelet). It terminates TLS with a
 * self-signed certificate for 127.0.0.1 and forwards each request, headers and body as they
 * are (bearer tokens only: a client certificate would end at the proxy), streaming the answer
 * back, watches included.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface CountingProxy {
  /** https://127.0.0.1:PORT */
  url: string;
  /** PEM of the proxy's certificate (its own CA), for the client's kubeconfig. */
  caPem: string;
  certFile: string;
  keyFile: string;
  /** Requests since the last reset, split as the function app's counters split them. */
  counts(): { reads: number; writes: number };
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(options: {
  apiServer: string;
  apiServerCaPem: string;
  dir: string;
}): Promise<CountingProxy> {
  const certFile = join(options.dir, 'proxy.crt');
  const keyFile = join(options.dir, 'proxy.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]),
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certFile, 'utf8');
  const target = new URL(options.apiServer);
  const agent = new Agent({ keepAlive: true, maxSockets: 256, ca: options.apiServerCaPem });
  let reads = 0;
  let writes = 0;
  const server = createServer({ cert, key: readFileSync(keyFile) }, (req, res) => {
    if (req.method === 'GET') reads++;
    else writes++;
    const headers = { ...req.headers, host: target.host };
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: cert,
    certFile,
    keyFile,
    counts: () => ({ reads, writes }),
    reset() {
      reads = 0;
      writes = 0;
    },
    close() {
      server.closeAllConnections();
      agent.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
