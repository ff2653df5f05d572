/**
 * esbuild bundles for the browser test and the example page, built in memory.
 *
 * - {@link bundleLibrary}: the `ae-manifold` browser entry alone (tfjs as external peers), with
 *   `platform: 'browser'`: esbuild fails on any Node built-in it meets, and the metafile is checked
 *   for `node:` inputs as well.
 * - {@link bundlePage}: a page entry with the library, tfjs-core, tfjs-layers and the cpu and WebGL
 *   backends inside one IIFE script.
 */
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';
import { isBuiltin } from 'node:module';

export interface BundleResult {
  code: string;
  bytes: number;
  /** Every input file of the bundle (relative paths as esbuild reports them). */
  inputs: string[];
  /** Inputs that are Node built-ins (must be empty). */
  nodeBuiltins: string[];
}

function builtinsIn(meta: Metafile): string[] {
  const found = new Set<string>();
  for (const [file, input] of Object.entries(meta.inputs)) {
    if (isBuiltin(file)) found.add(file);
    for (const imp of input.imports) if (imp.path.startsWith('node:') || isBuiltin(imp.path)) found.add(`${imp.path} (from ${file})`);
  }
  return [...found];
}

async function bundle(entry: string, external: string[], format: 'esm' | 'iife', alias: Record<string, string> = {}): Promise<BundleResult> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format,
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external,
    alias,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const out = r.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${entry}`);
  return { code: out.text, bytes: out.contents.byteLength, inputs: Object.keys(r.metafile.inputs), nodeBuiltins: builtinsIn(r.metafile) };
}

/** The library's browser entry (e.g. `build-x/src/index.js` or `dist/esm/index.js`), tfjs external. */
export function bundleLibrary(entry: string): Promise<BundleResult> {
  return bundle(entry, ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'], 'esm');
}

/**
 * A page script with everything inside (library, tfjs, cpu and WebGL backends). `library`, when
 * given, is the file that `import ... from 'ae-manifold'` resolves to (e.g. a fresh build of
 * src/index.ts instead of a possibly stale dist/).
 */
export function bundlePage(entry: string, library?: string): Promise<BundleResult> {
  return bundle(entry, [], 'iife', library ? { 'ae-manifold': library } : {});
}
