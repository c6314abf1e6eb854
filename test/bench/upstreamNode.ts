/**
 * Upstream virtual-kubelet's mock provider as a node of the bench's control plane: the pinned
 * release (dev/goTools.ts), talking to the API server through the counting proxy with the
 * admin token (upstream documents a cluster-wide role for it), serving its kubelet port on a
 * free loopback port with the proxy's certificate.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeconfigDocument } from '../../core/kube/kubeconfig.ts';
import { virtualKubeletBinary } from '../../dev/goTools.ts';
import { freePort, startServer, type ServerProcess } from '../../dev/process.ts';
import type { CountingProxy } from './countingProxy.ts';

export async function startUpstreamNode(options: {
  node: string;
  proxy: CountingProxy;
  token: string;
  dir: string;
  log: (line: string) => void;
}): Promise<ServerProcess> {
  const binary = await virtualKubeletBinary(options.log);
  const kubeconfig = join(options.dir, 'virtual-kubelet.kubeconfig');
  writeFileSync(
    kubeconfig,
    kubeconfigDocument({
      server: options.proxy.url,
      caPem: options.proxy.caPem,
      user: 'funclet-test-admin',
      token: options.token,
    }),
    { mode: 0o600 },
  );
  const providerConfig = join(options.dir, 'virtual-kubelet-mock.json');
  // The same capacity Funclet's mock node reports.
  writeFileSync(
    providerConfig,
    JSON.stringify({ [options.node]: { cpu: '1000', memory: '4Ti', pods: '5000' } }),
  );
  const [kubeletPort, metricsPort] = [await freePort(), await freePort()];
  return startServer(
    'virtual-kubelet',
    binary,
    [
      '--provider=mock',
      `--provider-config=${providerConfig}`,
      `--nodename=${options.node}`,
      `--kubeconfig=${kubeconfig}`,
      `--metrics-addr=127.0.0.1:${metricsPort}`,
    ],
    {
      logFile: join(options.dir, 'virtual-kubelet.log'),
      env: {
        PATH: process.env.PATH,
        KUBELET_PORT: String(kubeletPort),
        VKUBELET_POD_IP: '127.0.0.1',
        APISERVER_CERT_LOCATION: options.proxy.certFile,
        APISERVER_KEY_LOCATION: options.proxy.keyFile,
      },
    },
  );
}
