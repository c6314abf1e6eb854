/**
 * Service link environment variables, as the kubelet builds them (pkg/kubelet/envvars and
 * getServiceEnvVarMap in pkg/kubelet/kubelet_pods.go):
 * - the `kubernetes` Service of namespace `default` always, even with enableServiceLinks false;
 * - with enableServiceLinks (the default), every Service of the pod's own namespace, a Service
 *   named `kubernetes` there taking the place of the default one;
 * - only Services with a cluster IP (not headless "None", not ExternalName).
 * Services are taken in name order so that the result is stable.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { EnvVar } from '../../providers/types.ts';
import type { ResolverApi } from './api.ts';

const masterServices = new Set(['kubernetes']);

export async function serviceLinkEnv(
  api: ResolverApi,
  namespace: string,
  enableServiceLinks: boolean,
): Promise<EnvVar[]> {
  const [defaults, own] = await Promise.all([
    api.listServices('default'),
    enableServiceLinks ? api.listServices(namespace) : [],
  ]);
  const byName = new Map<string, V1Service>();
  for (const service of defaults) {
    const name = service.metadata?.name ?? '';
    if (masterServices.has(name) && hasClusterIP(service)) byName.set(name, service);
  }
  for (const service of own) {
    const name = service.metadata?.name;
    if (name && hasClusterIP(service)) byName.set(name, service);
  }
  const services = [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return services.flatMap(([, service]) => envForService(service));
}

function hasClusterIP(service: V1Service): boolean {
  const ip = service.spec?.clusterIP;
  return ip !== undefined && ip !== '' && ip !== 'None';
}

/** The variables of one Service (envvars.FromServices), in the kubelet's order. */
export function envForService(service: V1Service): EnvVar[] {
  const ip = service.spec?.clusterIP ?? '';
  const ports = service.spec?.ports ?? [];
  const first = ports[0];
  if (!first) return [];
  const prefix = envName(service.metadata?.name ?? '');
  const vars: [string, string][] = [
    [`${prefix}_SERVICE_HOST`, ip],
    [`${prefix}_SERVICE_PORT`, String(first.port)],
  ];
  for (const port of ports) {
    if (port.name) vars.push([`${prefix}_SERVICE_PORT_${envName(port.name)}`, String(port.port)]);
  }
  // Docker link variables.
  ports.forEach((port, i) => {
    const protocol = (port.protocol || 'TCP').toLowerCase();
    const url = `${protocol}://${joinHostPort(ip, port.port)}`;
    if (i === 0) vars.push([`${prefix}_PORT`, url]);
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    vars.push(
      [portPrefix, url],
      [`${portPrefix}_PROTO`, protocol],
      [`${portPrefix}_PORT`, String(port.port)],
      [`${portPrefix}_ADDR`, ip],
    );
  });
  return vars.map(([name, value]) => ({ name, value, secret: false }));
}

/** A Service or port name as a variable name: upper case, '-' as '_'. */
function envName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}

/** net.JoinHostPort: IPv6 addresses in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
