/**
 * The CLI's dispatcher: `ae-manifold <command> [flags]`. Separate from main.ts so that it can be
 * imported without running.
 * @module
 */
import { AeManifoldError } from '../errors.js';
import { VERSION } from '../version.js';
import { COMMANDS } from './commands.js';

function overview(): string {
  const names = Object.keys(COMMANDS);
  const pad = Math.max(...names.map((n) => n.length)) + 2;
  return [
    `ae-manifold ${VERSION}: where adversarial examples live inside a neural network.`,
    '',
    'Usage: ae-manifold <command> [flags]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(pad)}${COMMANDS[n]!.summary}`),
    '',
    "Run 'ae-manifold <command> --help' for the flags of a command.",
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and the script path); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview() + '\n');
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ae-manifold: unknown command '${name}'\n\n${overview()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof AeManifoldError) {
      process.stderr.write(`ae-manifold ${name}: ${e.message}\n`);
      return e.code === 'ABORTED' ? 130 : 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ae-manifold ${name}: ${(e as Error).message}\nRun 'ae-manifold ${name} --help' for the flags.\n`);
      return 2;
    }
    throw e;
  }
}

