#!/usr/bin/env node
/**
 * The `ae-manifold` command line: `ae-manifold <command> [flags]`, `ae-manifold <command> --help`.
 * @module
 */
import { runCli } from './run.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: the threaded wasm backend's worker threads would keep Node alive.
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`ae-manifold: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
