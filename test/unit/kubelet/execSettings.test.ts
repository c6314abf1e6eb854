import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relayOptionsFromEnv } from '../../../cli/relay.ts';
import { loadConfig, Setting } from '../../../core/config.ts';
import { ConfigError } from '../../../core/errors.ts';

const relayBase = {
  FUNCLET_RELAY_NODES: 'vk-1',
  FUNCLET_WEBHOOK_URL: 'https://fn.example/api/podEvents',
  FUNCLET_WEBHOOK_SECRET: 's'.repeat(32),
  FUNCLET_KUBELET_ADDRESS: '10.0.0.7',
};

const functionBase = {
  [Setting.nodes]: JSON.stringify([{ name: 'vk-1', provider: 'mock' }]),
  [Setting.kubeconfig]: 'apiVersion: v1\nkind: Config\nclusters: []\n',
  [Setting.tableConnectionString]: 'UseDevelopmentStorage=true',
};

describe('exec settings', () => {
  it('lets a relay serve 32 exec and attach sessions at once unless FUNCLET_KUBELET_MAX_SESSIONS says otherwise', () => {
    assert.equal(relayOptionsFromEnv(relayBase).kubelet?.maxSessions, 32);
    assert.equal(
      relayOptionsFromEnv({ ...relayBase, FUNCLET_KUBELET_MAX_SESSIONS: '4' }).kubelet?.maxSessions,
      4,
    );
    for (const bad of ['0', 'many', '5000']) {
      assert.throws(
        () => relayOptionsFromEnv({ ...relayBase, FUNCLET_KUBELET_MAX_SESSIONS: bad }),
        (err) =>
          err instanceof ConfigError &&
          err.settings.includes('FUNCLET_KUBELET_MAX_SESSIONS') &&
          err.message.includes(`must be a whole number from 1 to 1024, not "${bad}"`),
      );
    }
  });

  it("takes the mock's exec server as a ws:// or wss:// URL, and refuses anything else naming the setting", () => {
    assert.equal(loadConfig(functionBase).mock.execUrl, undefined);
    assert.equal(
      loadConfig({ ...functionBase, [Setting.mockExecUrl]: 'ws://127.0.0.1:8090/' }).mock.execUrl,
      'ws://127.0.0.1:8090',
    );
    for (const bad of ['http://127.0.0.1:8090', 'ws://127.0.0.1:8090/?x=1', 'not a url']) {
      assert.throws(
        () => loadConfig({ ...functionBase, [Setting.mockExecUrl]: bad }),
        (err) =>
          err instanceof ConfigError &&
          err.settings.includes(Setting.mockExecUrl) &&
          /must be a ws:\/\/ or wss:\/\/ URL/.test(err.message),
      );
    }
  });
});
