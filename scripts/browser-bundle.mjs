// Bundles the browser example (examples/browser/main.ts, compiled by `npm run build:test`) with the
// built library (dist/esm, from `npm run build`), tfjs-core, tfjs-layers and the cpu and WebGL
// backends into examples/browser/example.js, for `platform: 'browser'` (fails on Node built-ins).
// Usage: node scripts/browser-bundle.mjs [buildDir=build-test]
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = process.argv[2] ?? 'build-test';
const entry = join(root, buildDir, 'examples', 'browser', 'main.js');
const library = join(root, 'dist', 'esm', 'index.js');
for (const [file, how] of [[entry, 'npm run build:test'], [library, 'npm run build']]) {
  if (!existsSync(file)) {
    console.error(`browser-bundle: ${file} is missing: run \`${how}\` first`);
    process.exit(1);
  }
}
const out = join(root, 'examples', 'browser', 'example.js');
const r = await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  outfile: out,
  metafile: true,
  alias: { 'ae-manifold': library },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
const bytes = Object.values(r.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
console.log(`browser-bundle: wrote ${out} (${(bytes / 1e6).toFixed(2)} MB); serve examples/browser/ and open index.html`);
