/**
 * Pod security settings, as every provider treats them. No provider runs a pod on a host of
 * the cluster's, so what asks for a host (privileged mode, the host's network, PID or IPC
 * namespace, a hostPath volume, a Windows HostProcess container) is refused, always. A setting
 * that restricts a container (runAsNonRoot, readOnlyRootFilesystem, dropped capabilities...) is
 * honoured where the provider can enforce it, and otherwise refused rather than dropped: a pod
 * that asked to run as non-root must not run as root unnoticed. A node set to
 * `"unenforcedSecurity": "ignore"` (FUNCLET_NODES) runs such pods anyway, without the settings.
 */
import { InvalidInputError } from '../errors.ts';
import type { ProviderName, ResolvedContainer, ResolvedPod } from './types.ts';

/** Container settings a provider may enforce; the rest of ContainerSecurity it cannot. */
export const SecuritySetting = {
  runAsUser: 'runAsUser',
  runAsGroup: 'runAsGroup',
  runAsNonRoot: 'runAsNonRoot',
  readOnlyRootFilesystem: 'readOnlyRootFilesystem',
  allowPrivilegeEscalation: 'allowPrivilegeEscalation',
  capabilities: 'capabilities',
  seccompProfile: 'seccompProfile',
  seLinuxOptions: 'seLinuxOptions',
  appArmorProfile: 'appArmorProfile',
  fsGroup: 'fsGroup',
  supplementalGroups: 'supplementalGroups',
  sysctls: 'sysctls',
  hostUsers: 'hostUsers',
  windowsOptions: 'windowsOptions',
} as const;
export type SecuritySetting = keyof typeof SecuritySetting;

export type UnenforcedSecurity = 'refuse' | 'ignore';

/** What each provider applies of a container's securityContext itself. */
export const enforcedSecurity: Record<ProviderName, ReadonlySet<SecuritySetting>> = {
  mock: new Set(),
  aci: new Set(),
  // The container definition's `user` and `readonlyRootFilesystem` (ecs/container-definition.ts).
  ecs: new Set(['runAsUser', 'runAsGroup', 'readOnlyRootFilesystem']),
};

/**
 * Every refusal for the pod, as sentences; empty when it may run. `enforced` names what the
 * provider applies itself (ECS: the user and a read-only root filesystem); `unenforced` is the
 * node's choice for the rest.
 */
export function securityProblems(
  pod: ResolvedPod,
  provider: string,
  enforced: ReadonlySet<SecuritySetting>,
  unenforced: UnenforcedSecurity,
): string[] {
  const problems: string[] = [];
  const host = pod.security?.hostNamespaces ?? [];
  for (const ns of host)
    problems.push(
      `The pod asks for the host's ${ns} namespace, which Funclet never grants: a virtual node has no host.`,
    );
  for (const v of pod.volumes)
    if (v.kind === 'unsupported' && v.type === 'hostPath')
      problems.push(
        `Volume ${v.name} is a hostPath volume, which Funclet never mounts: a virtual node has no host.`,
      );
  const set: { where: string; setting: SecuritySetting; runAsUser?: number }[] = [];
  for (const setting of pod.security?.settings ?? []) set.push({ where: 'the pod', setting });
  const containers: [string, ResolvedContainer][] = [
    ...pod.initContainers.map((c): [string, ResolvedContainer] => [`init container ${c.name}`, c]),
    ...pod.containers.map((c): [string, ResolvedContainer] => [`container ${c.name}`, c]),
  ];
  for (const [where, c] of containers) {
    if (c.security?.privileged === true)
      problems.push(`The ${where} asks for privileged mode, which Funclet never grants.`);
    if (c.security?.hostProcess === true)
      problems.push(`The ${where} is a Windows HostProcess container, which Funclet never runs.`);
    for (const setting of c.security?.settings ?? [])
      set.push({ where: `the ${where}`, setting, runAsUser: c.security?.runAsUser });
  }
  if (unenforced === 'refuse') {
    for (const { where, setting, runAsUser } of set) {
      if (enforced.has(setting)) continue;
      // A provider that runs the container as a given non-zero user enforces runAsNonRoot too.
      if (setting === 'runAsNonRoot' && enforced.has('runAsUser') && (runAsUser ?? 0) > 0) continue;
      problems.push(
        `${capitalised(where)} sets securityContext.${setting}, which ${provider} cannot enforce; it is refused rather than run without it (a node with "unenforcedSecurity": "ignore" runs it anyway).`,
      );
    }
  }
  return problems;
}

/** Throws the refusal a pod status and an Event show, before anything is created. */
export function refuseInsecurePod(
  pod: ResolvedPod,
  provider: string,
  enforced: ReadonlySet<SecuritySetting>,
  unenforced: UnenforcedSecurity,
): void {
  const problems = securityProblems(pod, provider, enforced, unenforced);
  if (problems.length > 0) throw new InvalidInputError(problems.join(' '));
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
