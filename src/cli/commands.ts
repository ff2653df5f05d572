/**
 * The CLI's subcommand table. Each entry parses its own flags and returns an exit code.
 * @module
 */
import { trainCommand } from './train-command.js';
import { demoCommand, studyCommand } from './study-command.js';

/** One subcommand of `ae-manifold`. */
export interface CliCommand {
  /** One line for the overview of `ae-manifold --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Subcommands by name (`ae-manifold <name> ...`). */
export const COMMANDS: Record<string, CliCommand> = {
  study: studyCommand,
  demo: demoCommand,
  train: trainCommand,
};
