import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePod } from '../../../core/pods/resolve/index.ts';
import { envRecord, FakeResolverApi, options, pod } from './support.ts';

function cluster(): FakeResolverApi {
  return new FakeResolverApi()
    .service('default', 'kubernetes', '10.0.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }])
    .service('default', 'other', '10.0.0.9', [{ port: 80 }])
    .service('team', 'redis-primary', '10.0.0.20', [{ port: 6379 }])
    .service('team', 'web', '10.0.0.30', [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns-udp', port: 53, protocol: 'UDP' },
    ])
    .service('team', 'headless', 'None', [{ port: 80 }])
    .service('team', 'external', '', [{ port: 80 }]);
}

describe('service link variables', () => {
  it('are the docker-link set for every Service with a cluster IP in the pod namespace, plus kubernetes', async () => {
    const resolved = await resolvePod(pod(), cluster(), options);
    const env = resolved.containers[0]!.env;
    assert.deepEqual(envRecord(env), {
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://10.0.0.1:443',
      KUBERNETES_PORT_443_TCP: 'tcp://10.0.0.1:443',
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_443_TCP_PORT: '443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.0.0.1',
      REDIS_PRIMARY_SERVICE_HOST: '10.0.0.20',
      REDIS_PRIMARY_SERVICE_PORT: '6379',
      REDIS_PRIMARY_PORT: 'tcp://10.0.0.20:6379',
      REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.0.0.20:6379',
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.0.0.20',
      WEB_SERVICE_HOST: '10.0.0.30',
      WEB_SERVICE_PORT: '80',
      WEB_SERVICE_PORT_HTTP: '80',
      WEB_SERVICE_PORT_DNS_UDP: '53',
      WEB_PORT: 'tcp://10.0.0.30:80',
      WEB_PORT_80_TCP: 'tcp://10.0.0.30:80',
      WEB_PORT_80_TCP_PROTO: 'tcp',
      WEB_PORT_80_TCP_PORT: '80',
      WEB_PORT_80_TCP_ADDR: '10.0.0.30',
      WEB_PORT_53_UDP: 'udp://10.0.0.30:53',
      WEB_PORT_53_UDP_PROTO: 'udp',
      WEB_PORT_53_UDP_PORT: '53',
      WEB_PORT_53_UDP_ADDR: '10.0.0.30',
    });
    assert.ok(env.every((v) => !v.secret));
    // Services in name order, each in the kubelet's order.
    assert.equal(env[0]!.name, 'KUBERNETES_SERVICE_HOST');
    assert.equal(env.at(-1)!.name, 'WEB_PORT_53_UDP_ADDR');
  });

  it('with enableServiceLinks false are only the kubernetes Service ones, and other namespaces are never listed', async () => {
    const api = cluster();
    const resolved = await resolvePod(pod({ enableServiceLinks: false }), api, options);
    assert.deepEqual(
      Object.keys(envRecord(resolved.containers[0]!.env)).filter((n) => !n.startsWith('KUBERNETES_')),
      [],
    );
    assert.equal(envRecord(resolved.containers[0]!.env).KUBERNETES_SERVICE_HOST, '10.0.0.1');
    assert.deepEqual(
      api.calls.filter((c) => c.startsWith('listServices')),
      ['listServices default'],
    );
  });

  it('let a kubernetes Service in the pod namespace replace the default one', async () => {
    const api = cluster().service('team', 'kubernetes', '10.0.0.99', [{ port: 8443 }]);
    const env = envRecord((await resolvePod(pod(), api, options)).containers[0]!.env);
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.0.0.99');
    assert.equal(env.KUBERNETES_SERVICE_PORT_HTTPS, undefined);
  });

  it('put IPv6 cluster IPs in brackets in URLs', async () => {
    const api = new FakeResolverApi().service('team', 'v6', 'fd00::10', [{ port: 80 }]);
    const env = envRecord((await resolvePod(pod(), api, options)).containers[0]!.env);
    assert.equal(env.V6_PORT, 'tcp://[fd00::10]:80');
    assert.equal(env.V6_PORT_80_TCP_ADDR, 'fd00::10');
  });

  it('come first and are overridden by envFrom and env of the same name', async () => {
    const api = cluster().configMap('team', 'cfg', { WEB_SERVICE_HOST: 'from-configmap' });
    const resolved = await resolvePod(
      pod(
        {},
        {
          envFrom: [{ configMapRef: { name: 'cfg' } }],
          env: [{ name: 'WEB_SERVICE_PORT', value: '8080' }],
        },
      ),
      api,
      options,
    );
    const env = resolved.containers[0]!.env;
    const names = env.map((v) => v.name);
    assert.equal(envRecord(env).WEB_SERVICE_HOST, 'from-configmap');
    assert.equal(envRecord(env).WEB_SERVICE_PORT, '8080');
    assert.deepEqual(names.slice(-2), ['WEB_SERVICE_HOST', 'WEB_SERVICE_PORT']);
    assert.equal(new Set(names).size, names.length, 'no name appears twice');
  });
});
