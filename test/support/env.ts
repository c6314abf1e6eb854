import { readFileSync } from 'node:fs';
import type { ClusterInfo } from '../../dev/cluster/cluster.ts';

/**
 * The shared services one test run starts once (test/run.ts) and every test file reaches
 * through FUNCLET_TEST_ENV. Tests isolate themselves by namespace, node name and table name.
 */
export interface TestEnv {
  cluster: ClusterInfo;
  /**
   * metrics-server on 127.0.0.1:port, registered as APIService v1beta1.metrics.k8s.io: it
   * scrapes each node's kubelet endpoint (InternalIP, daemonEndpoints port) every 15 s.
   */
  metricsServer: { port: number };
  azurite: { connectionString: string };
  moto: { endpoint: string };
  /** test/run.ts's control endpoint: POST /restart-apiserver. */
  control: string;
}

let cached: TestEnv | undefined;

export function testEnv(): TestEnv {
  if (cached) return cached;
  const file = process.env.FUNCLET_TEST_ENV;
  if (!file) throw new Error('FUNCLET_TEST_ENV is not set: run the tests with `npm test` (test/run.ts)');
  cached = JSON.parse(readFileSync(file, 'utf8')) as TestEnv;
  return cached;
}

/** A name unique to this test process, safe for namespaces, node names and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}
