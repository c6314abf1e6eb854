/**
 * Pod volumes as ACI volumes:
 * - emptyDir -> ACI emptyDir. ACI's is disk-backed and unsized: medium Memory and sizeLimit are
 *   performance and quota hints whose contract (an empty, writable, shared directory) still holds.
 * - files (ConfigMap, Secret, projected, downward API) -> ACI secret volume, which takes each
 *   file's content as base64 and is mounted read-only on tmpfs. ACI decides file modes itself, so
 *   modes are not honoured; the content is. ACI holds only top-level files, so a file in a
 *   subdirectory cannot be placed and is refused. A volume with no files becomes an emptyDir (an
 *   empty directory either way; ACI refuses empty secret volumes).
 * - azureFile -> ACI azureFile with the storage key.
 * - anything else is refused, naming its type.
 * ACI mounts volumes only into Linux container groups.
 */
import type { Volume } from '@azure/arm-containerinstance';
import type { ResolvedPod } from '../types.ts';

export function aciVolumes(pod: ResolvedPod, problems: string[]): Volume[] {
  if (pod.volumes.length > 0 && pod.os === 'windows') {
    problems.push('ACI mounts volumes only into Linux container groups; this Windows pod declares volumes.');
    return [];
  }
  const volumes: Volume[] = [];
  for (const volume of pod.volumes) {
    switch (volume.kind) {
      case 'emptyDir':
        volumes.push({ name: volume.name, emptyDir: {} });
        break;
      case 'files': {
        if (volume.files.length === 0) {
          volumes.push({ name: volume.name, emptyDir: {} });
          break;
        }
        const secret: Record<string, string> = {};
        for (const file of volume.files) {
          if (file.path.includes('/')) {
            problems.push(
              `Volume "${volume.name}" places the file "${file.path}" in a subdirectory, but ACI volumes of files hold only top-level files.`,
            );
            continue;
          }
          secret[file.path] = file.contentBase64;
        }
        volumes.push({ name: volume.name, secret });
        break;
      }
      case 'azureFile':
        volumes.push({
          name: volume.name,
          azureFile: {
            shareName: volume.shareName,
            storageAccountName: volume.storageAccountName,
            storageAccountKey: volume.storageAccountKey,
            readOnly: volume.readOnly,
          },
        });
        break;
      case 'unsupported':
        problems.push(`Volume "${volume.name}" is of type ${volume.type}, which ACI cannot mount.`);
        break;
    }
  }
  return volumes;
}
