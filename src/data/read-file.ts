/**
 * Reading data files with errors that say what is missing and how to obtain it.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { DataUnavailableError } from '../errors.js';

/**
 * Reads a whole file as bytes. A missing or unreadable file becomes a
 * {@link DataUnavailableError} naming `fn`, the path and `hint`.
 */
export async function readDataFile(fn: string, path: string, hint: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`;
    throw new DataUnavailableError(fn, `${path} ${why}.${hint ? ` ${hint}` : ''}`, { cause: e });
  }
}

/** Throws a {@link DataUnavailableError} for a file whose content is not what it should be. */
export function corrupt(fn: string, path: string, problem: string, hint: string, cause?: unknown): never {
  throw new DataUnavailableError(
    fn,
    `${path} is corrupt or not the expected file: ${problem}. Obtain a fresh copy.${hint ? ` ${hint}` : ''}`,
    cause === undefined ? undefined : { cause },
  );
}
