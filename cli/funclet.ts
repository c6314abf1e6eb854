#!/usr/bin/env node
/**
 * The `funclet` command.
 *
 *   funclet local [--node NAME]   run Funclet's main job locally (control plane, Azurite, mock provider)
 */
import { parseArgs } from 'node:util';
import { runLocal } from './local.ts';

const usage = `usage: funclet <command> [options]

commands:
  local [--node NAME]   run Funclet locally: a local control plane (or $KUBECONFIG), Azurite,
                        the mock provider and the timer functions on their schedules; Ctrl-C stops
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'local': {
      const { values } = parseArgs({
        args: rest,
        options: { node: { type: 'string', default: 'funclet-local' } },
      });
      const stop = await runLocal({ nodeName: values.node, kubeconfigPath: process.env.KUBECONFIG });
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      process.stdout.write('stopping\n');
      await stop();
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

process.exitCode = await main(process.argv.slice(2));
