/**
 * A cache of finished study stages in the output folder. Each stage's key is a hash of exactly the
 * configuration it depends on (plus the keys of the stages it reads), so a rerun with the same
 * config reuses it and a changed config invalidates exactly what it touches. Files are written to
 * a temporary name and renamed, so an interrupted run never leaves a half-written entry.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Stable JSON: object keys sorted, so equal configs hash equally. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
    .join(',')}}`;
}

/** Short hex hash of any JSON-able value. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

/** Writes a file atomically: temporary name in the same folder, then rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A stage's stored value: JSON metadata plus named float32 blobs. */
export interface StageEntry<M> {
  meta: M;
  blobs: Record<string, Float32Array>;
}

/** Stage cache rooted at `<out>/.cache`. */
export class StageCache {
  readonly dir: string;

  constructor(outDir: string) {
    this.dir = join(outDir, '.cache');
    mkdirSync(this.dir, { recursive: true });
  }

  private path(stage: string, key: string): string {
    return join(this.dir, `${stage.replace(/[^a-zA-Z0-9_-]/g, '_')}-${key}`);
  }

  /** The stored entry for (stage, key), or undefined. */
  get<M>(stage: string, key: string): StageEntry<M> | undefined {
    const base = this.path(stage, key);
    if (!existsSync(`${base}.json`)) return undefined;
    try {
      const { meta, blobs } = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { meta: M; blobs: Record<string, number> };
      const out: Record<string, Float32Array> = {};
      for (const [name, length] of Object.entries(blobs)) {
        const buf = readFileSync(`${base}.${name}.f32`);
        if (buf.byteLength !== length * 4) return undefined;
        out[name] = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      }
      return { meta, blobs: out };
    } catch {
      return undefined;
    }
  }

  /** Stores an entry; the JSON is written last, so a partial entry is never read back. */
  set<M>(stage: string, key: string, entry: StageEntry<M>): void {
    const base = this.path(stage, key);
    const lengths: Record<string, number> = {};
    for (const [name, data] of Object.entries(entry.blobs)) {
      writeFileAtomic(`${base}.${name}.f32`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      lengths[name] = data.length;
    }
    writeFileAtomic(`${base}.json`, JSON.stringify({ meta: entry.meta, blobs: lengths }));
  }
}
