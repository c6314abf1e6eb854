/**
 * The PUT validation of ACI that matters to Funclet: the rejections real users hit. The two
 * resource codes and their messages are ACI's own (ResourceLimitsLessThanRequests,
 * ContainerLimitGreaterThanContainerGroupTotalRequest), as is the container-name message; the
 * other codes are named after what they check. Callers classify by HTTP status, never by code.
 */
import { armError, type ArmError, type WireContainer, type WireGroup } from './wire.ts';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const groupNamePattern = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const gpuSkus = new Set(['K80', 'P100', 'V100']);
const bad = (code: string, message: string): ArmError => armError(400, code, message);

export function validateGroupName(name: string): ArmError | undefined {
  if (name.length > 63 || !groupNamePattern.test(name)) {
    return bad(
      'ContainerGroupNameInvalid',
      `The container group name '${name}' is invalid. The container group name must contain no more than 63 characters and only lower case alphanumeric characters or single '-', and it can't start or end with '-'.`,
    );
  }
  return undefined;
}

export function validateGroup(name: string, body: unknown): ArmError | undefined {
  if (typeof body !== 'object' || body === null)
    return bad('InvalidRequestContent', 'The request content is not a JSON object.');
  const group = body as Partial<WireGroup>;
  if (typeof group.location !== 'string' || group.location === '') {
    return bad('LocationRequired', 'The location property is required for this definition.');
  }
  const tags = Object.entries(group.tags ?? {});
  if (tags.length > 50 || tags.some(([k, v]) => k.length > 512 || typeof v !== 'string' || v.length > 256)) {
    return bad(
      'InvalidTag',
      'A resource may have at most 50 tags, with names up to 512 and values up to 256 characters.',
    );
  }
  const props = group.properties;
  if (props === undefined || typeof props !== 'object')
    return bad('InvalidRequestContent', "The 'properties' of the container group are required.");
  if (props.osType !== 'Linux' && props.osType !== 'Windows') {
    return bad(
      'InvalidOsType',
      `The osType '${quoted(props.osType)}' of container group '${name}' is invalid; use Linux or Windows.`,
    );
  }
  if (!Array.isArray(props.containers) || props.containers.length === 0) {
    return bad(
      'NoContainersInContainerGroup',
      `The container group '${name}' must contain at least one container.`,
    );
  }
  const all = [...props.containers, ...(props.initContainers ?? [])];
  const seen = new Set<string>();
  for (const c of all) {
    const problem = validateContainerBasics(name, c, seen);
    if (problem !== undefined) return problem;
  }
  const volumeNames = new Set((props.volumes ?? []).map((v) => v.name));
  for (const volume of props.volumes ?? []) {
    const kinds = [volume.azureFile, volume.emptyDir, volume.secret, volume.gitRepo].filter(
      (k) => k !== undefined,
    );
    if (kinds.length !== 1)
      return bad('InvalidVolume', `The volume '${volume.name}' must have exactly one type.`);
    for (const [file, content] of Object.entries(volume.secret ?? {})) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) {
        return bad(
          'InvalidSecretVolumeValue',
          `The value of secret '${file}' in volume '${volume.name}' is not base64 encoded.`,
        );
      }
    }
  }
  for (const c of all) {
    for (const mount of c.properties.volumeMounts ?? []) {
      if (!volumeNames.has(mount.name)) {
        return bad(
          'VolumeMountNameNotFound',
          `The volume mount '${mount.name}' of container '${c.name}' does not match any volume.`,
        );
      }
    }
  }
  return validateResources(name, props.containers) ?? validateIpAddress(name, group as WireGroup);
}

function validateContainerBasics(group: string, c: WireContainer, seen: Set<string>): ArmError | undefined {
  if (typeof c !== 'object' || typeof c.properties !== 'object') {
    return bad(
      'InvalidRequestContent',
      `Every container of container group '${group}' needs a name and properties.`,
    );
  }
  if (typeof c.name !== 'string' || c.name.length > 63 || !dnsLabel.test(c.name)) {
    return bad(
      'InvalidContainerName',
      `The container name '${quoted(c.name)}' in container group '${group}' is invalid. The container name must contain no more than 63 characters and must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name').`,
    );
  }
  if (seen.has(c.name))
    return bad(
      'DuplicateContainerName',
      `The container name '${c.name}' is used more than once in container group '${group}'.`,
    );
  seen.add(c.name);
  if (typeof c.properties.image !== 'string' || c.properties.image.trim() === '') {
    return bad(
      'InvalidContainerImage',
      `The image of container '${c.name}' in container group '${group}' is required.`,
    );
  }
  return undefined;
}

function validateResources(group: string, containers: WireContainer[]): ArmError | undefined {
  const sized: { container: WireContainer; cpu: number; memoryInGB: number }[] = [];
  for (const c of containers) {
    const requests = c.properties.resources?.requests;
    const cpu = Number(requests?.cpu);
    const memoryInGB = Number(requests?.memoryInGB);
    if (!(cpu > 0) || !(memoryInGB > 0)) {
      return bad(
        'InvalidContainerResourceRequests',
        `The container '${c.name}' in container group '${group}' must request cpu and memoryInGB above zero.`,
      );
    }
    if (requests?.gpu !== undefined && !gpuSkus.has(requests.gpu.sku)) {
      return bad(
        'InvalidGpuSku',
        `The GPU SKU '${requests.gpu.sku}' of container '${c.name}' is not supported.`,
      );
    }
    sized.push({ container: c, cpu, memoryInGB });
  }
  const total = { cpu: sum(sized.map((s) => s.cpu)), memoryInGB: sum(sized.map((s) => s.memoryInGB)) };
  for (const s of sized) {
    const resources = s.container.properties.resources;
    for (const [key, label] of [
      ['cpu', 'Cpu'],
      ['memoryInGB', 'MemoryInGB'],
    ] as const) {
      const limit = resources?.limits?.[key];
      if (limit === undefined) continue;
      if (limit < s[key]) {
        return bad(
          'ResourceLimitsLessThanRequests',
          `The resource requirement '${JSON.stringify(resources)}' in container '${s.container.name}' of container group '${group}' is invalid. The '${label}' limit value must be greater than or equal to the request value.`,
        );
      }
      if (limit > total[key] + 1e-9) {
        return bad(
          'ContainerLimitGreaterThanContainerGroupTotalRequest',
          `The '${label}' limit '${limit}' in container '${s.container.name}' is greater than the total request '${round(total[key])}' of container group '${group}'.`,
        );
      }
    }
  }
  return undefined;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A value from the request body, which may not be the type it should be. */
function quoted(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function validateIpAddress(group: string, body: WireGroup): ArmError | undefined {
  const ip = body.properties.ipAddress;
  if (ip === undefined) return undefined;
  if (ip.type !== 'Public' && ip.type !== 'Private')
    return bad('InvalidIpAddressType', `The IP address type '${ip.type}' is invalid.`);
  if (ip.type === 'Private' && !(body.properties.subnetIds?.length ?? 0)) {
    return bad(
      'PrivateIPAddressNotSupported',
      `The container group '${group}' needs a subnet for a private IP address.`,
    );
  }
  const exposed = new Set(
    body.properties.containers.flatMap((c) => (c.properties.ports ?? []).map((p) => p.port)),
  );
  const missing = (ip.ports ?? []).find((p) => !exposed.has(p.port));
  if (missing !== undefined) {
    return bad(
      'InvalidIpAddressPort',
      `The port '${missing.port}' of the IP address is not exposed by any container in container group '${group}'.`,
    );
  }
  return undefined;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
