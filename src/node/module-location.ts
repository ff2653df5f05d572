/**
 * Where this file is on disk, used to find the package's own folders (shipped models).
 * The CommonJS build replaces this file with a `__filename` version (scripts/mark-cjs.mjs).
 * @module
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of this compiled module file. */
export function thisModuleFile(): string {
  // @ts-ignore -- import.meta is valid in the ESM build; the CJS build swaps this file out.
  return fileURLToPath(import.meta.url);
}
