/**
 * Locates the installed ae-manifold package folder (the one holding package.json and models/).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { thisModuleFile } from './module-location.js';

let cached: string | undefined;

/** Absolute path of the ae-manifold package root. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(thisModuleFile());
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ae-manifold') return (cached = dir);
      } catch {
        // not ours: keep climbing
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('ae-manifold: cannot locate the package root from ' + thisModuleFile());
    dir = up;
  }
}
