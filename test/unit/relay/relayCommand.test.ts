import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { relayOptionsFromEnv, runRelay } from '../../../cli/relay.ts';
import { ConfigError } from '../../../core/errors.ts';
import { memoryLogger } from '../../../core/log.ts';

const secret = 's'.repeat(32);

describe('funclet relay settings', () => {
  it('reads nodes, webhook URL, secret, port and requests in flight from the environment, port 8080 and 4 in flight by default', () => {
    const read = relayOptionsFromEnv({
      FUNCLET_RELAY_NODES: ' vk-1, vk-2 ,',
      FUNCLET_WEBHOOK_URL: 'https://fn.example/api/podEvents',
      FUNCLET_WEBHOOK_SECRET: secret,
      FUNCLET_FUNCTION_KEY: 'k',
    });
    assert.deepEqual(
      {
        nodes: read.nodes,
        webhookUrl: read.webhookUrl,
        secret: read.secret,
        functionKey: read.functionKey,
        port: read.port,
        maxInFlight: read.maxInFlight,
      },
      {
        nodes: ['vk-1', 'vk-2'],
        webhookUrl: 'https://fn.example/api/podEvents',
        secret,
        functionKey: 'k',
        port: 8080,
        maxInFlight: 4,
      },
    );
    const given = relayOptionsFromEnv({
      FUNCLET_RELAY_NODES: 'vk-1',
      FUNCLET_WEBHOOK_URL: 'http://127.0.0.1:7071/api/podEvents',
      FUNCLET_WEBHOOK_SECRET: secret,
      FUNCLET_RELAY_PORT: '9090',
      FUNCLET_RELAY_MAX_IN_FLIGHT: '1',
    });
    assert.deepEqual([given.port, given.maxInFlight], [9090, 1]);
  });

  it('refuses a function key in the webhook URL, and plain http anywhere but loopback', () => {
    for (const [url, problem] of [
      ['https://fn.example/api/podEvents?code=k', /carries the function key in its query/],
      ['http://fn.example/api/podEvents', /plain http:\/\/ is accepted only to a loopback address/],
    ] as const) {
      assert.throws(
        () =>
          relayOptionsFromEnv({
            FUNCLET_RELAY_NODES: 'vk-1',
            FUNCLET_WEBHOOK_URL: url,
            FUNCLET_WEBHOOK_SECRET: secret,
          }),
        (err) =>
          err instanceof ConfigError &&
          err.settings.includes('FUNCLET_WEBHOOK_URL') &&
          problem.test(err.message),
      );
    }
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () =>
        relayOptionsFromEnv({
          FUNCLET_RELAY_NODES: 'vk-1,Bad_Node',
          FUNCLET_WEBHOOK_URL: 'not a url',
          FUNCLET_WEBHOOK_SECRET: 'too-short',
          FUNCLET_RELAY_PORT: '80a',
          FUNCLET_RELAY_MAX_IN_FLIGHT: '0',
        }),
      (err) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.settings, [
          'FUNCLET_RELAY_NODES',
          'FUNCLET_WEBHOOK_URL',
          'FUNCLET_WEBHOOK_SECRET',
          'FUNCLET_RELAY_PORT',
          'FUNCLET_RELAY_MAX_IN_FLIGHT',
        ]);
        assert.match(err.message, /"Bad_Node" is not a valid node name/);
        assert.match(
          err.message,
          /FUNCLET_RELAY_MAX_IN_FLIGHT: must be a whole number from 1 to 32, not "0"/,
        );
        assert.match(err.message, /at least 32 characters \(it is 9\)/);
        return true;
      },
    );
    assert.throws(
      () => relayOptionsFromEnv({}),
      (err) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.settings, [
          'FUNCLET_RELAY_NODES',
          'FUNCLET_WEBHOOK_URL',
          'FUNCLET_WEBHOOK_SECRET',
        ]);
        return true;
      },
    );
  });

  it('answers /readyz 503 and /healthz 200 while the first list is still outstanding, and stops without waiting for it', async () => {
    // An API server that accepts the list request and never answers it.
    const apiServer = createServer(() => undefined);
    await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve));
    const kubeconfigText = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`,
            'insecure-skip-tls-verify': true,
          },
        },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    });
    const relay = await runRelay({
      nodes: ['vk-1'],
      webhookUrl: 'http://127.0.0.1:9/api/podEvents',
      secret,
      port: 0,
      maxInFlight: 4,
      kubeconfigText,
      logger: memoryLogger().logger,
    });
    try {
      const base = `http://127.0.0.1:${relay.port}`;
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/metrics`)).status, 404);
    } finally {
      await relay.stop();
      apiServer.closeAllConnections();
      await new Promise((resolve) => apiServer.close(resolve));
    }
  });
});
