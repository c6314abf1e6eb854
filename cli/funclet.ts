#!/usr/bin/env node
/**
 * The `funclet` command.
 *
 *   funclet local [--node NAME]   run Funclet's main job locally (control plane, Azurite, mock provider)
 *   funclet relay                 run the in-cluster relay (settings from the environment)
 *
 * Each command's module is loaded only when it runs, so the relay image never loads the local run.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';

const usage = `usage: funclet <command> [options]

commands:
  local [--node NAME]   run Funclet locally: a local control plane (or $KUBECONFIG), Azurite,
                        the mock provider, the functions and the relay; Ctrl-C stops
  relay                 run the in-cluster relay (FUNCLET_RELAY_NODES, FUNCLET_WEBHOOK_URL,
                        FUNCLET_WEBHOOK_SECRET, FUNCLET_RELAY_PORT)
`;

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'local': {
      const { values } = parseArgs({
        args: rest,
        options: { node: { type: 'string', default: 'funclet-local' } },
      });
      const { runLocal } = await import('./local.ts');
      const stop = await runLocal({ nodeName: values.node, kubeconfigPath: process.env.KUBECONFIG });
      await untilSignal();
      process.stdout.write('stopping\n');
      await stop();
      return 0;
    }
    case 'relay': {
      const { relayOptionsFromEnv, runRelay } = await import('./relay.ts');
      const relay = await runRelay(relayOptionsFromEnv(process.env));
      await untilSignal();
      await relay.stop();
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${command}\n${usage}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`funclet: ${err.message}\n`);
  process.exitCode = 2;
}
