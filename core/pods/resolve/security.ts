/**
 * A pod's securityContext, resolved as the kubelet merges it: a container's own settings over
 * the pod's (runAsUser, runAsGroup, runAsNonRoot, seccomp, SELinux, AppArmor, windowsOptions),
 * plus what only a container sets (privileged, capabilities, readOnlyRootFilesystem,
 * allowPrivilegeEscalation). Only restrictive values are listed as settings: a value that
 * permits more than a provider's default (allowPrivilegeEscalation: true, an Unconfined
 * profile) loses nothing when a provider cannot apply it.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { SecuritySetting } from '../../providers/security.ts';
import type { ContainerSecurity, PodSecurity } from '../../providers/types.ts';

export function containerSecurity(pod: V1Pod, container: V1Container): ContainerSecurity | undefined {
  const p = pod.spec?.securityContext ?? {};
  const c = container.securityContext ?? {};
  const runAsUser = c.runAsUser ?? p.runAsUser;
  const runAsGroup = c.runAsGroup ?? p.runAsGroup;
  const runAsNonRoot = c.runAsNonRoot ?? p.runAsNonRoot;
  const seccomp = c.seccompProfile ?? p.seccompProfile;
  const appArmor = c.appArmorProfile ?? p.appArmorProfile;
  const seLinux = c.seLinuxOptions ?? p.seLinuxOptions;
  const windows = { ...p.windowsOptions, ...c.windowsOptions };
  const settings: SecuritySetting[] = [];
  if (runAsUser !== undefined) settings.push('runAsUser');
  if (runAsGroup !== undefined) settings.push('runAsGroup');
  if (runAsNonRoot === true) settings.push('runAsNonRoot');
  if (c.readOnlyRootFilesystem === true) settings.push('readOnlyRootFilesystem');
  if (c.allowPrivilegeEscalation === false) settings.push('allowPrivilegeEscalation');
  if ((c.capabilities?.add?.length ?? 0) > 0 || (c.capabilities?.drop?.length ?? 0) > 0)
    settings.push('capabilities');
  if (seccomp !== undefined && seccomp.type !== 'Unconfined') settings.push('seccompProfile');
  if (appArmor !== undefined && appArmor.type !== 'Unconfined') settings.push('appArmorProfile');
  if (seLinux !== undefined && Object.values(seLinux).some((v) => v !== undefined && v !== ''))
    settings.push('seLinuxOptions');
  if (windows.gmsaCredentialSpec !== undefined || windows.runAsUserName !== undefined)
    settings.push('windowsOptions');
  const security: ContainerSecurity = { settings };
  if (c.privileged === true) security.privileged = true;
  if (windows.hostProcess === true) security.hostProcess = true;
  if (runAsUser !== undefined) security.runAsUser = runAsUser;
  if (runAsGroup !== undefined) security.runAsGroup = runAsGroup;
  if (runAsNonRoot !== undefined) security.runAsNonRoot = runAsNonRoot;
  if (c.readOnlyRootFilesystem !== undefined) security.readOnlyRootFilesystem = c.readOnlyRootFilesystem;
  const empty =
    settings.length === 0 && security.privileged === undefined && security.hostProcess === undefined;
  return empty ? undefined : security;
}

export function podSecurity(pod: V1Pod): PodSecurity | undefined {
  const spec = pod.spec;
  const p = spec?.securityContext ?? {};
  const hostNamespaces: PodSecurity['hostNamespaces'] = [];
  if (spec?.hostNetwork === true) hostNamespaces.push('network');
  if (spec?.hostPID === true) hostNamespaces.push('PID');
  if (spec?.hostIPC === true) hostNamespaces.push('IPC');
  const settings: SecuritySetting[] = [];
  if (p.fsGroup !== undefined) settings.push('fsGroup');
  if ((p.supplementalGroups?.length ?? 0) > 0) settings.push('supplementalGroups');
  if ((p.sysctls?.length ?? 0) > 0) settings.push('sysctls');
  if (spec?.hostUsers === false) settings.push('hostUsers');
  return hostNamespaces.length === 0 && settings.length === 0 ? undefined : { hostNamespaces, settings };
}
