/**
 * A resolved pod as an ACI container group. Pure: the same pod and settings always give the same
 * group. Everything ACI cannot honour is gathered and refused at once, as one InvalidInputError
 * whose message lists each problem as a sentence, before any call to Azure.
 *
 * Networking: with a delegated subnet configured, the group gets a private IP in it (the pod's
 * podIP) and the pod's DNS settings (cluster DNS is reachable there). Without one, a group gets
 * an IP only as an explicit opt-in, since a Kubernetes containerPort exposes nothing by itself: a
 * public IP with the pod's ports when its node's `publicIp` is `all`, or is `annotated` and the
 * pod sets `funclet.io/aci-public-ip: "true"`; otherwise no IP at all. Such a group keeps Azure's
 * DNS: cluster DNS servers are not reachable from a public group, so passing them on would break
 * name resolution. ACI gives a group in a subnet no public IP: a pod asking for one there is
 * refused.
 *
 * GPUs: ACI offers GPUs only to Linux groups outside virtual networks. The SKU is V100 unless the
 * pod's `funclet.io/aci-gpu-sku` annotation names K80, P100 or V100.
 */
import type { ContainerGroup, DnsConfiguration, IpAddress, Port } from '@azure/arm-containerinstance';
import type { AciConfig } from '../../config.ts';
import { InvalidInputError } from '../../errors.ts';
import type { ResolvedContainer, ResolvedPod } from '../types.ts';
import { aciContainer, aciInitContainer, type GpuRequest } from './containers.ts';
import { groupTotal, resourcesFor } from './resources.ts';
import { AciTag, podTags } from './tags.ts';
import { aciVolumes } from './volumes.ts';

export const gpuSkuAnnotation = 'funclet.io/aci-gpu-sku';
/** "true": the pod asks for a public IP, which its node grants only with publicIp `annotated`. */
export const publicIpAnnotation = 'funclet.io/aci-public-ip';
const gpuSkus = ['K80', 'P100', 'V100'] as const;
const defaultGpuSku = 'V100';

export interface MappingSettings {
  config: AciConfig;
  clusterName: string;
  /** The pod's node's choice of which pods get a public IP; none when absent. */
  publicIp?: PublicIpPolicy;
}

export type PublicIpPolicy = 'none' | 'annotated' | 'all';

export function containerGroupFromPod(pod: ResolvedPod, settings: MappingSettings): ContainerGroup {
  const { config, clusterName } = settings;
  const problems: string[] = [];
  if (pod.containers.length === 0) problems.push('The pod has no containers.');

  const volumes = aciVolumes(pod, problems);
  const volumeNames = new Set(pod.volumes.map((v) => v.name));
  const { sidecars, initOnly } = splitSidecars(pod, problems);
  const running = [...sidecars, ...pod.containers];
  const total = groupTotal(running);
  const containers = running.map((c) =>
    aciContainer(c, resourcesFor(c, total), gpuRequest(pod, c, config, problems), volumeNames, problems),
  );
  const initContainers = initOnly.map((c) => aciInitContainer(c, volumeNames, problems));
  const ipAddress = groupIpAddress(pod, config, settings.publicIp ?? 'none', problems);

  if (problems.length > 0) throw new InvalidInputError(`ACI cannot run this pod. ${problems.join(' ')}`);

  const group: ContainerGroup = {
    location: config.region,
    tags: { ...podTags(pod, clusterName), ...sidecarTag(sidecars) },
    osType: pod.os === 'windows' ? 'Windows' : 'Linux',
    restartPolicy: pod.restartPolicy,
    containers,
    ...(initContainers.length > 0 ? { initContainers } : {}),
    ...(volumes.length > 0 ? { volumes } : {}),
  };
  if (ipAddress !== undefined) group.ipAddress = ipAddress;
  if (config.subnetId !== undefined) {
    group.subnetIds = [{ id: config.subnetId }];
    const dns = dnsConfig(pod);
    if (dns !== undefined) group.dnsConfig = dns;
  }
  const credentials = uniqueBy(pod.imagePullCredentials, (c) => c.server.toLowerCase());
  if (credentials.length > 0) {
    group.imageRegistryCredentials = credentials.map((c) => ({
      server: c.server,
      username: c.username,
      password: c.password,
    }));
  }
  return group;
}

/**
 * Native sidecars (init containers with restartPolicy Always) as ACI containers: ACI has no
 * sidecars, and runs every init container to its end before any container starts, so a sidecar
 * becomes an ordinary container of the group, started with the app containers; the group's
 * sidecar tag names it, so that its status is reported among the init containers and the pod's
 * phase follows the app containers alone. An init container that comes after a sidecar would run
 * without it (ACI cannot start the sidecar first): refused.
 */
function splitSidecars(
  pod: ResolvedPod,
  problems: string[],
): { sidecars: ResolvedContainer[]; initOnly: ResolvedContainer[] } {
  const sidecars = pod.initContainers.filter((c) => c.restartPolicy === 'Always');
  const initOnly = pod.initContainers.filter((c) => c.restartPolicy !== 'Always');
  const firstSidecar = pod.initContainers.findIndex((c) => c.restartPolicy === 'Always');
  if (firstSidecar >= 0) {
    for (const c of pod.initContainers.slice(firstSidecar + 1)) {
      if (c.restartPolicy === 'Always') continue;
      problems.push(
        `Init container "${c.name}" comes after sidecar "${pod.initContainers[firstSidecar]!.name}", but ACI runs every init container before it starts any other container, so the sidecar could not run beside it; put the sidecars after the other init containers.`,
      );
    }
  }
  if ((sidecarTag(sidecars)[AciTag.sidecars] ?? '').length > 256)
    problems.push(
      "The names of the pod's sidecars are longer together than the 256 characters an ACI tag holds.",
    );
  return { sidecars, initOnly };
}

function sidecarTag(sidecars: readonly ResolvedContainer[]): Partial<Record<AciTag, string>> {
  return sidecars.length === 0 ? {} : { [AciTag.sidecars]: sidecars.map((c) => c.name).join(',') };
}

function gpuRequest(
  pod: ResolvedPod,
  container: ResolvedContainer,
  config: AciConfig,
  problems: string[],
): GpuRequest | undefined {
  const wanted = Math.max(container.requests.gpu ?? 0, container.limits.gpu ?? 0);
  if (wanted <= 0) return undefined;
  const where = `Container "${container.name}" requests a GPU`;
  if (pod.os === 'windows') {
    problems.push(`${where}, but ACI offers GPUs only to Linux container groups.`);
    return undefined;
  }
  if (config.subnetId !== undefined) {
    problems.push(`${where}, but ACI offers no GPUs to container groups in a virtual network.`);
    return undefined;
  }
  const sku = pod.annotations[gpuSkuAnnotation] ?? defaultGpuSku;
  if (!(gpuSkus as readonly string[]).includes(sku)) {
    problems.push(
      `Annotation ${gpuSkuAnnotation} is "${sku}", but ACI's GPU SKUs are ${gpuSkus.join(', ')}.`,
    );
    return undefined;
  }
  return { count: Math.ceil(wanted), sku };
}

function groupIpAddress(
  pod: ResolvedPod,
  config: AciConfig,
  policy: PublicIpPolicy,
  problems: string[],
): IpAddress | undefined {
  const asked = pod.annotations[publicIpAnnotation];
  if (asked !== undefined && asked !== 'true' && asked !== 'false')
    problems.push(`Annotation ${publicIpAnnotation} is "${asked}"; it must be "true" or "false".`);
  const wantsPublic = asked === 'true';
  if (wantsPublic && config.subnetId !== undefined)
    problems.push(
      `The pod asks for a public IP (${publicIpAnnotation}), but ACI gives none to a container group in a virtual network.`,
    );
  else if (wantsPublic && policy === 'none')
    problems.push(
      `The pod asks for a public IP (${publicIpAnnotation}), but node ${pod.node} gives none (its publicIp setting is none).`,
    );
  const ports = uniqueBy(
    pod.containers.flatMap((c) =>
      c.ports.map((p): Port => ({ port: p.containerPort, protocol: p.protocol })),
    ),
    (p) => `${p.port}/${p.protocol ?? 'TCP'}`,
  );
  if (config.subnetId !== undefined) return { type: 'Private', ports };
  const granted = policy === 'all' || (policy === 'annotated' && wantsPublic);
  return granted && asked !== 'false' && ports.length > 0 ? { type: 'Public', ports } : undefined;
}

function dnsConfig(pod: ResolvedPod): DnsConfiguration | undefined {
  const dns = pod.dnsConfig;
  if (dns === undefined || dns.nameservers.length === 0) return undefined;
  const searches = [...new Set(dns.searches)];
  const options = dns.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`));
  return {
    nameServers: dns.nameservers,
    ...(searches.length > 0 ? { searchDomains: searches.join(' ') } : {}),
    ...(options.length > 0 ? { options: options.join(' ') } : {}),
  };
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
