/**
 * An in-memory API server for pod resolution: ConfigMaps, Secrets and Services by namespace,
 * tokens minted as fake JWTs that say what was asked, and a log of every call.
 */
import type {
  V1ConfigMap,
  V1Container,
  V1Pod,
  V1PodSpec,
  V1Secret,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import type { ResolverApi, TokenRequest } from '../../../core/pods/resolve/index.ts';

export class FakeResolverApi implements ResolverApi {
  readonly configMaps = new Map<string, V1ConfigMap>();
  readonly secrets = new Map<string, V1Secret>();
  readonly services = new Map<string, V1Service[]>();
  readonly calls: string[] = [];
  readonly tokenRequests: { namespace: string; serviceAccount: string; request: TokenRequest }[] = [];

  configMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
    binaryData?: Record<string, string>,
  ) {
    this.configMaps.set(`${namespace}/${name}`, { metadata: { namespace, name }, data, binaryData });
    return this;
  }

  /** `data` in clear text; stored base64 as the API server returns it. */
  secret(namespace: string, name: string, data: Record<string, string>, type = 'Opaque') {
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));
    this.secrets.set(`${namespace}/${name}`, { metadata: { namespace, name }, type, data: encoded });
    return this;
  }

  service(namespace: string, name: string, clusterIP: string, ports: V1ServicePort[]) {
    const list = this.services.get(namespace) ?? [];
    list.push({ metadata: { namespace, name }, spec: { clusterIP, ports } });
    this.services.set(namespace, list);
    return this;
  }

  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    this.calls.push(`getConfigMap ${namespace}/${name}`);
    return Promise.resolve(this.configMaps.get(`${namespace}/${name}`));
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    this.calls.push(`getSecret ${namespace}/${name}`);
    return Promise.resolve(this.secrets.get(`${namespace}/${name}`));
  }

  listServices(namespace: string): Promise<V1Service[]> {
    this.calls.push(`listServices ${namespace}`);
    return Promise.resolve(this.services.get(namespace) ?? []);
  }

  serviceAccountToken(namespace: string, serviceAccount: string, request: TokenRequest): Promise<string> {
    this.calls.push(`serviceAccountToken ${namespace}/${serviceAccount}`);
    this.tokenRequests.push({ namespace, serviceAccount, request });
    return Promise.resolve(
      fakeJwt({ sub: `system:serviceaccount:${namespace}:${serviceAccount}`, ...request }),
    );
  }
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function unb64(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

export function fakeJwt(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.signature`;
}

export const options = { node: 'vk-1', attempt: 0, nowMs: Date.UTC(2025, 0, 2) };

/** A pod in namespace `team` with one container `app`, overridable piecewise. */
export function pod(spec: Partial<V1PodSpec> = {}, container: Partial<V1Container> = {}): V1Pod {
  return {
    metadata: {
      namespace: 'team',
      name: 'web-0',
      uid: '11111111-2222-3333-4444-555555555555',
      labels: { app: 'web', tier: 'front' },
      annotations: { note: 'say "hi"\n' },
      creationTimestamp: new Date(Date.UTC(2025, 0, 1)),
    },
    spec: {
      nodeName: 'vk-1',
      serviceAccountName: 'builder',
      containers: [{ name: 'app', image: 'nginx:1.27', ...container }],
      ...spec,
    },
    status: { podIP: '10.1.0.7', podIPs: [{ ip: '10.1.0.7' }, { ip: 'fd00::7' }], hostIP: '192.168.0.2' },
  };
}

/** The env of a resolved container as NAME -> value. */
export function envRecord(env: readonly { name: string; value: string }[]): Record<string, string> {
  return Object.fromEntries(env.map((v) => [v.name, v.value]));
}
