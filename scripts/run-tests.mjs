// Runs the compiled tests with node's own test runner.
// Usage: node scripts/run-tests.mjs [buildDir=build-test] [filter...]
// Every *.test.js below <buildDir>/test whose path contains one of the filters (all if none).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const [buildDir = 'build-test', ...filters] = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => p.includes(f)))) files.push(p);
  }
})(join(buildDir, 'test'));
if (files.length === 0) {
  console.error(`run-tests: no test files under ${buildDir}/test matching ${filters.join(', ') || '(all)'}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
