/**
 * Parser of the IDX format of MNIST and Fashion-MNIST: big-endian header (two zero bytes, a type
 * byte, a dimension count, one uint32 per dimension), then the data in row-major order. Gzipped
 * files are recognised by their magic bytes and inflated first.
 * @module
 */
import { gunzipSync } from 'node:zlib';
import { readDataFile, corrupt } from './read-file.js';

/**
 * The content of an IDX file of unsigned bytes.
 * @category Data
 */
export interface IdxArray {
  /** Dimensions from the header, e.g. `[10000, 28, 28]` for images, `[10000]` for labels. */
  dims: number[];
  /** The values in row-major order (`dims` multiplied together of them). */
  data: Uint8Array;
}

const IDX_UINT8 = 0x08;
const IDX_TYPE_NAMES: Record<number, string> = { 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decodes IDX bytes (gzipped or not) and checks the header against the file size. Errors are
 * {@link DataUnavailableError}s naming `fn`, `source` and `hint`.
 * @internal
 */
export function decodeIdx(fn: string, bytes: Uint8Array, source: string, hint: string): IdxArray {
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      const buf = gunzipSync(bytes);
      raw = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      corrupt(fn, source, `gzip data does not inflate (${(e as Error).message})`, hint, e);
    }
  }
  if (raw.length < 4) corrupt(fn, source, `${raw.length} bytes is shorter than the 4-byte IDX magic number`, hint);
  const type = raw[2]!;
  const ndims = raw[3]!;
  if (raw[0] !== 0 || raw[1] !== 0 || ndims === 0) {
    const magic = Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    corrupt(fn, source, `magic number 0x${magic} is not an IDX magic number (0x0000TTDD)`, hint);
  }
  if (type !== IDX_UINT8) {
    corrupt(fn, source, `IDX element type 0x${type.toString(16)} (${IDX_TYPE_NAMES[type] ?? 'unknown'}) is not uint8 (0x08)`, hint);
  }
  const headerBytes = 4 + 4 * ndims;
  if (raw.length < headerBytes) corrupt(fn, source, `${raw.length} bytes cannot hold a header of ${ndims} dimensions`, hint);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    count *= n;
  }
  const expected = headerBytes + count;
  if (raw.length !== expected) {
    corrupt(
      fn,
      source,
      `header says dims [${dims.join(', ')}], i.e. ${expected} bytes${isGzip(bytes) ? ' once inflated' : ''}, but there are ${raw.length}` +
        (raw.length < expected ? ' (truncated file)' : ''),
      hint,
    );
  }
  return { dims, data: raw.subarray(headerBytes) };
}

/**
 * Parses the bytes of an IDX file of unsigned bytes (as used by MNIST and Fashion-MNIST);
 * gzipped input is detected by its magic bytes and inflated first.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseIdx } from 'ae-manifold/node';
 * const labels = parseIdx(readFileSync('t10k-labels-idx1-ubyte'));
 * labels.dims; // [10000]
 * ```
 * @param bytes the whole file
 * @param source a name for error messages (a path), default `'IDX data'`
 * @throws DataUnavailableError when the magic number, element type or size is wrong
 * @category Data
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  return decodeIdx('parseIdx', bytes, source, '');
}

/**
 * Reads and parses an IDX file (plain or gzipped).
 *
 * @example
 * ```ts
 * import { readIdxFile } from 'ae-manifold/node';
 * const images = await readIdxFile('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
 * images.dims; // [10000, 28, 28]
 * ```
 * @throws DataUnavailableError when the file is missing or corrupt
 * @category Data
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  const bytes = await readDataFile('readIdxFile', path, '');
  return decodeIdx('readIdxFile', bytes, path, '');
}
