/**
 * Cold start of the function app as a new instance has it: a new `node` process that imports the
 * bundle (package.json "main", dist/app from scripts/bundle.ts) and serves its first timer
 * invocation (nodeStatus: the runtime is built, the provider's chunk and SDK load, the node's
 * status is posted), once per provider, each against the real services on loopback: the mock
 * (Azurite), ECS (moto). ACI is not measured: its only credential is DefaultAzureCredential,
 * which would reach for Azure's identity endpoints. Wall time from spawn to exit, Node's own
 * boot included, against `node -e 0` measured alternately in the same run. Target: <= 2x.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Setting } from '../../core/config.ts';
import { startMoto } from '../../dev/moto.ts';
import { bundleApp } from '../../scripts/bundle.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { functionKubeconfig } from '../support/kube.ts';
import { percentile } from './counters.ts';
import type { BenchServices } from './services.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

// What the child does: import the bundle, serve one nodeStatus invocation with a context as the
// host would pass it, and say how long each step took from the process's own time origin.
// With `telemetry`, the Azure Monitor distro's chunk is loaded after the first invocation, as the app
// loads it when APPLICATIONINSIGHTS_CONNECTION_STRING is set (functions/app.ts), and the time it
// takes is reported apart (the distro itself is not started: it would dial Azure's endpoints).
const script = (bundle: string, telemetry?: string) => `
const importStart = performance.now();
const app = await import(${JSON.stringify(pathToFileURL(bundle).href)});
const imported = performance.now();
const quiet = () => {};
const context = { invocationId: 'cold-start', functionName: 'nodeStatus', log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };
const now = new Date().toISOString();
await app.nodeStatus({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: now, next: now, lastUpdated: now } }, context);
const invoked = performance.now();
${telemetry === undefined ? '' : `await import(${JSON.stringify(pathToFileURL(telemetry).href)});`}
process.stdout.write(JSON.stringify({ bootMs: importStart, importMs: imported - importStart, invocationMs: invoked - imported, telemetryMs: performance.now() - invoked }));
process.exit(0);`;

async function wallMs(args: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; out: string }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, args, { cwd: root, env, maxBuffer: 1 << 20 });
  return { wall: performance.now() - started, out: stdout };
}

export async function benchColdStart(
  services: BenchServices,
  runs: number,
  log: (line: string) => void,
): Promise<Record<string, string | number>[]> {
  const dir = join(services.dir, 'bundle');
  const meta = await bundleApp(dir);
  const bundle = join(dir, 'app.js');
  const distro = Object.entries(meta.outputs).find(([, o]) =>
    Object.keys(o.inputs).some((i) => i.endsWith('@azure/monitor-opentelemetry/dist/esm/index.js')),
  );
  if (!distro) throw new Error('the bundle has no chunk for @azure/monitor-opentelemetry');
  const distroChunk = join(root, distro[0]);
  const moto = await startMoto();
  try {
    const ecsCluster = 'bench-cold-start';
    await fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.CreateCluster',
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request',
      },
      body: JSON.stringify({ clusterName: ecsCluster }),
    });
    const base = { PATH: process.env.PATH, HOME: process.env.HOME };
    const settings = async (provider: 'mock' | 'ecs'): Promise<NodeJS.ProcessEnv> => {
      const node = `bench-cold-${provider}`;
      return {
        ...base,
        [Setting.nodes]: JSON.stringify([{ name: node, provider }]),
        [Setting.kubeconfig]: await functionKubeconfig(services.admin, [node]),
        [Setting.tableConnectionString]: azuriteConnectionString(services.azurite.port),
        [Setting.tablePrefix]: `cold${provider}`,
        ...(provider === 'ecs'
          ? {
              [Setting.ecsCluster]: ecsCluster,
              [Setting.ecsRegion]: 'us-east-1',
              [Setting.ecsSubnets]: 'subnet-0bench',
              [Setting.ecsEndpoint]: moto.endpoint,
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
            }
          : {}),
      };
    };
    const envs = { mock: await settings('mock'), ecs: await settings('ecs') };
    const child = ['--input-type=module', '-e', script(bundle)];
    const childWithTelemetry = ['--input-type=module', '-e', script(bundle, distroChunk)];
    // One unmeasured run of each: the node is registered and the files are in the page cache.
    for (const env of Object.values(envs)) await wallMs(child, env);
    await wallMs(['-e', '0'], base);

    const samples = {
      baseline: [] as number[],
      mock: [] as number[],
      ecs: [] as number[],
      telemetry: [] as number[],
    };
    const parts = {
      mock: [] as Record<string, number>[],
      ecs: [] as Record<string, number>[],
      telemetry: [] as Record<string, number>[],
    };
    for (let i = 0; i < runs; i++) {
      samples.baseline.push((await wallMs(['-e', '0'], base)).wall);
      for (const provider of ['mock', 'ecs'] as const) {
        const { wall, out } = await wallMs(child, envs[provider]);
        samples[provider].push(wall);
        parts[provider].push(JSON.parse(out) as Record<string, number>);
      }
      const { wall, out } = await wallMs(childWithTelemetry, envs.mock);
      samples.telemetry.push(wall);
      parts.telemetry.push(JSON.parse(out) as Record<string, number>);
    }
    log(`cold start: ${runs} runs each`);
    const p50 = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      );
    const baseline = p50(samples.baseline);
    const row = (what: string, values: number[], split?: Record<string, number>[]) => ({
      process: what,
      runs,
      'p50 ms': Math.round(p50(values)),
      'min ms': Math.round(Math.min(...values)),
      'max ms': Math.round(Math.max(...values)),
      'x node -e 0': (p50(values) / baseline).toFixed(2),
      'boot / import / invocation / distro p50 ms': split
        ? ['bootMs', 'importMs', 'invocationMs', 'telemetryMs']
            .map((k) => Math.round(p50(split.map((s) => s[k]!))))
            .join(' / ')
        : '',
    });
    return [
      row('node -e 0', samples.baseline),
      row('bundle + first nodeStatus, mock', samples.mock, parts.mock),
      row('bundle + first nodeStatus, ecs (moto)', samples.ecs, parts.ecs),
      row('bundle + distro chunk + first nodeStatus, mock', samples.telemetry, parts.telemetry),
    ];
  } finally {
    await moto.stop();
  }
}
