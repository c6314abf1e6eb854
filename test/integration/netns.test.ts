import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { testCertificate } from '../fakes/aci/cert.ts';
import { testAdmin } from '../support/kube.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { createNetnsHost, type NetnsHost } from '../support/netns.ts';

const run = promisify(execFile);

function listenOn(server: Server): (address: string) => Promise<number> {
  return (address) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, () => resolve((server.address() as AddressInfo).port));
    });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}

const close = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('a test host in a network namespace', () => {
  const hosts: NetnsHost[] = [];
  after(async () => {
    await Promise.all(hosts.map((h) => h.remove()));
  });

  it('forwards its own address to a server on the root side of its veth, and is gone after remove()', async () => {
    // The server says which address the connection came from: the forwarder inside the namespace.
    const server = createHttpServer((req, res) => res.end(`from ${req.socket.remoteAddress ?? '?'}`));
    const host = await createNetnsHost({ listen: listenOn(server), port: 8080 });
    try {
      assert.match(host.address, /^198\.1[89]\.\d+\.\d+$/);
      const answer = await get(`http://${host.address}:${host.port}/`);
      assert.deepEqual(answer, { status: 200, body: `from ${host.address}` });
    } finally {
      await host.remove();
      await close(server);
    }
    const { stdout: namespaces } = await run('ip', ['netns', 'list']);
    assert.ok(!namespaces.split('\n').some((line) => line.split(' ')[0] === host.name), namespaces);
    const { stdout: addresses } = await run('ip', ['-4', '-o', 'addr', 'show']);
    assert.ok(!addresses.includes(` ${host.listenAddress}/`), 'the root side of the veth is gone');
  });

  it("lets the API server proxy to a node at the host's address, which it refuses for a loopback address", async () => {
    const { keyPem, certPem } = testCertificate();
    const kubelet = createHttpsServer({ key: keyPem, cert: certPem }, (req, res) =>
      res.end(`kubelet at ${req.url ?? ''}`),
    );
    const host = await createNetnsHost({ listen: listenOn(kubelet) });
    hosts.push(host);
    const core = testAdmin().makeApiClient(CoreV1Api);
    const node = uniqueName('netns-node');
    const setAddress = async (address: string) => {
      const current = await core.readNode({ name: node });
      current.status = {
        ...current.status,
        addresses: [{ type: 'InternalIP', address }],
        daemonEndpoints: { kubeletEndpoint: { Port: host.port } },
      };
      await core.replaceNodeStatus({ name: node, body: current });
    };
    const kubectl = (...args: string[]) =>
      run('kubectl', ['--kubeconfig', testEnv().cluster.adminKubeconfigPath, ...args], { timeout: 20_000 });
    try {
      await core.createNode({ body: { metadata: { name: node } } });
      await setAddress(host.address);
      const { stdout } = await kubectl('get', '--raw', `/api/v1/nodes/${node}/proxy/healthz`);
      assert.equal(stdout, 'kubelet at /healthz');

      await setAddress('127.0.0.1');
      await assert.rejects(
        kubectl('get', '--raw', `/api/v1/nodes/${node}/proxy/healthz`),
        (err: { stderr?: string }) => /address not allowed/.test(err.stderr ?? ''),
      );
    } finally {
      await core.deleteNode({ name: node });
      await close(kubelet);
    }
  });
});
