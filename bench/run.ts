/**
 * `npm run bench`: runs every bench/*.bench.ts suite (or those named with --only a,b), each in
 * its own Node process so that its peak RSS is its own, one after another, and prints JSON lines
 * on stdout. Each suite exports `run(args)`.
 *
 * Usage: npm run bench -- [--only backend,knn] [--quick] [--no-python]
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emit, note, parseArgs, peakRssMB } from './util.js';

interface Suite {
  run(args: Record<string, string | true>): Promise<void>;
}

const argv = process.argv.slice(2);
const args = parseArgs(argv);
const here = dirname(fileURLToPath(import.meta.url));

if (typeof args.suite === 'string') {
  // Child mode: run one suite in this process.
  const t0 = performance.now();
  const suite = (await import(join(here, `${args.suite}.bench.js`))) as Suite;
  await suite.run(args);
  emit({ bench: 'suite-done', suite: args.suite, seconds: (performance.now() - t0) / 1000, peakRssMB: peakRssMB() });
  // Threaded wasm keeps worker threads alive: end the child explicitly once its suite is done.
  process.exit(0);
} else {
  const only = typeof args.only === 'string' ? args.only.split(',') : undefined;
  const suites = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.slice(0, -'.bench.js'.length))
    .filter((name) => !only || only.includes(name))
    .sort();
  if (suites.length === 0) {
    note(`no suite matches --only ${String(args.only)}`);
    process.exit(1);
  }
  let failed = 0;
  for (const name of suites) {
    note(`suite ${name}`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--suite', name, ...argv], { stdio: 'inherit' });
    if (r.status !== 0) {
      failed++;
      emit({ bench: 'suite-failed', suite: name, exitCode: r.status });
    }
  }
  process.exit(failed ? 1 : 0);
}
