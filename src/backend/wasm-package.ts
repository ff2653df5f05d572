/**
 * Locates and loads the installed `@tensorflow/tfjs-backend-wasm` package from node_modules (its
 * `.wasm` binaries ship inside it, so nothing is downloaded). Loading is lazy: merely importing
 * ae-manifold/node does not register the wasm backend with tfjs.
 * @module
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { thisModuleFile } from '../node/module-location.js';

/**
 * The exact tfjs-backend-wasm version whose internals (kernel functions, thread start-up) the
 * replacement kernels and the threads workaround were written and tested against.
 *
 * @example
 * ```ts
 * import { PINNED_WASM_BACKEND_VERSION, installedWasmBackendVersion } from 'ae-manifold/node';
 * const verified = installedWasmBackendVersion() === PINNED_WASM_BACKEND_VERSION;
 * ```
 * @category Backend
 */
export const PINNED_WASM_BACKEND_VERSION = '4.22.0';

/** What the rest of src/backend needs from the loaded package. */
export interface WasmPackage {
  /** Installed version (from its package.json). */
  version: string;
  /** Folder with the three `.wasm` binaries (the package's dist/). */
  distDir: string;
  /** Folder with the raw Emscripten outputs (factory scripts, worker script). */
  wasmOutDir: string;
  setWasmPaths(prefix: string): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  /** The CommonJS `require` that resolves from this package (for node built-ins shared with it). */
  require: NodeJS.Require;
}

let loaded: WasmPackage | undefined;

/** Resolves the package folder, or `undefined` when it is not installed. */
export function findWasmPackageDir(): string | undefined {
  try {
    const req = createRequire(thisModuleFile());
    return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  } catch {
    return undefined;
  }
}

/**
 * Installed version of @tensorflow/tfjs-backend-wasm, or `undefined` if it is not installed.
 *
 * @example
 * ```ts
 * import { installedWasmBackendVersion } from 'ae-manifold/node';
 * if (installedWasmBackendVersion() === undefined) throw new Error('npm install --save-exact @tensorflow/tfjs-backend-wasm@4.22.0');
 * ```
 * @category Backend
 */
export function installedWasmBackendVersion(): string | undefined {
  const dir = findWasmPackageDir();
  if (!dir) return undefined;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
}

/** Loads the package (once). Throws a plain Error with the reason when it cannot. */
export function loadWasmPackage(): WasmPackage {
  if (loaded) return loaded;
  const dir = findWasmPackageDir();
  if (!dir) {
    throw new Error(
      `@tensorflow/tfjs-backend-wasm is not installed; run: npm install --save-exact @tensorflow/tfjs-backend-wasm@${PINNED_WASM_BACKEND_VERSION}`,
    );
  }
  const distDir = join(dir, 'dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    if (!existsSync(join(distDir, f))) throw new Error(`@tensorflow/tfjs-backend-wasm is incomplete: ${join(distDir, f)} is missing`);
  }
  const req = createRequire(join(dir, 'package.json'));
  const mod = req(dir) as {
    setWasmPaths(prefix: string): void;
    setThreadsCount(n: number): void;
    getThreadsCount(): number;
    version_wasm: string;
  };
  loaded = {
    version: installedWasmBackendVersion() ?? mod.version_wasm,
    distDir,
    wasmOutDir: join(dir, 'wasm-out'),
    setWasmPaths: mod.setWasmPaths,
    setThreadsCount: mod.setThreadsCount,
    getThreadsCount: mod.getThreadsCount,
    require: req,
  };
  return loaded;
}
