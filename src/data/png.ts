/**
 * A small PNG decoder in plain JavaScript (plus node:zlib): 8-bit greyscale, grey+alpha, RGB and
 * RGBA images without interlacing, which covers the CIFAR-10 PNGs. Every chunk CRC is checked.
 * @module
 */
import * as zlib from 'node:zlib';
import { corrupt } from './read-file.js';

/**
 * A decoded PNG: rows of `width · channels` bytes, top to bottom, filters undone.
 * @category Data
 */
export interface DecodedPng {
  width: number;
  height: number;
  /** 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 2 | 3 | 4;
  /** PNG colour type from the header: 0, 4, 2 or 6. */
  colorType: 0 | 2 | 4 | 6;
  /** `height · width · channels` bytes. */
  pixels: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 2: 3, 4: 2, 6: 4 };

let crcTable: Uint32Array | undefined;
/** CRC-32 (ISO 3309) as PNG uses it; node's zlib.crc32 where the runtime has it. */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Decodes PNG bytes; problems are {@link DataUnavailableError}s naming `fn`, `source` and `hint`.
 * @internal
 */
export function decodePngBytes(fn: string, bytes: Uint8Array, source: string, hint: string): DecodedPng {
  const bad = (problem: string, cause?: unknown): never => corrupt(fn, source, problem, hint, cause);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) bad('the PNG signature is missing');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) bad(`chunk header at byte ${pos} is cut off (truncated file)`);
    const length = view.getUint32(pos, false);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    const end = pos + 12 + length;
    if (end > bytes.length) bad(`chunk ${type} at byte ${pos} needs ${length} bytes, the file ends first (truncated file)`);
    const stored = view.getUint32(pos + 8 + length, false);
    const actual = crc32(bytes.subarray(pos + 4, pos + 8 + length));
    if (stored !== actual) bad(`CRC of chunk ${type} at byte ${pos} is 0x${actual.toString(16)}, stored 0x${stored.toString(16)}`);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (pos === 8 && type !== 'IHDR') bad(`the first chunk is ${type}, not IHDR`);
    if (type === 'IHDR') {
      if (length !== 13) bad(`IHDR has ${length} bytes, not 13`);
      width = view.getUint32(pos + 8, false);
      height = view.getUint32(pos + 12, false);
      const bitDepth = data[8]!;
      colorType = data[9]!;
      if (width === 0 || height === 0) bad(`image size ${width} x ${height} is empty`);
      if (bitDepth !== 8) bad(`bit depth ${bitDepth} is not supported (only 8)`);
      if (CHANNELS[colorType] === undefined) bad(`colour type ${colorType} is not supported (only 0, 2, 4, 6)`);
      if (data[10] !== 0 || data[11] !== 0) bad('compression or filter method is not 0');
      if (data[12] !== 0) bad('interlaced images are not supported');
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    } else if ((bytes[pos + 4]! & 0x20) === 0) {
      bad(`critical chunk ${type} is not supported`);
    }
    pos = end;
  }
  if (!sawEnd) bad('there is no IEND chunk (truncated file)');
  if (idat.length === 0) bad('there is no IDAT chunk');
  const channels = CHANNELS[colorType]!;
  const rowBytes = width * channels;
  const expected = height * (rowBytes + 1);
  let raw: Uint8Array;
  try {
    const buf = zlib.inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { chunkSize: Math.max(64 * 1024, Math.min(expected, 2 ** 30)) });
    raw = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    return bad(`image data does not inflate (${(e as Error).message})`, e);
  }
  if (raw.length !== expected) bad(`image data inflates to ${raw.length} bytes, expected ${expected} for ${width} x ${height}`);
  const pixels = new Uint8Array(height * rowBytes);
  unfilter(raw, pixels, height, rowBytes, channels, bad);
  return { width, height, channels, colorType: colorType as DecodedPng['colorType'], pixels };
}

/** Undoes the per-row filters (None, Sub, Up, Average, Paeth) from `raw` into `out`. */
function unfilter(raw: Uint8Array, out: Uint8Array, height: number, rowBytes: number, bpp: number, bad: (p: string) => never): void {
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)]!;
    const src = y * (rowBytes + 1) + 1;
    const dst = y * rowBytes;
    const up = dst - rowBytes; // previous output row (only read when y > 0)
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + rowBytes), dst);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) out[dst + i] = raw[src + i]!;
        for (let i = bpp; i < rowBytes; i++) out[dst + i] = (raw[src + i]! + out[dst + i - bpp]!) & 0xff;
        break;
      case 2:
        if (y === 0) out.set(raw.subarray(src, src + rowBytes), dst);
        else for (let i = 0; i < rowBytes; i++) out[dst + i] = (raw[src + i]! + out[up + i]!) & 0xff;
        break;
      case 3:
        if (y === 0) {
          for (let i = 0; i < bpp; i++) out[dst + i] = raw[src + i]!;
          for (let i = bpp; i < rowBytes; i++) out[dst + i] = (raw[src + i]! + (out[dst + i - bpp]! >> 1)) & 0xff;
        } else {
          for (let i = 0; i < bpp; i++) out[dst + i] = (raw[src + i]! + (out[up + i]! >> 1)) & 0xff;
          for (let i = bpp; i < rowBytes; i++) out[dst + i] = (raw[src + i]! + ((out[dst + i - bpp]! + out[up + i]!) >> 1)) & 0xff;
        }
        break;
      case 4:
        if (y === 0) {
          // With no row above, Paeth picks the left neighbour: the same as Sub.
          for (let i = 0; i < bpp; i++) out[dst + i] = raw[src + i]!;
          for (let i = bpp; i < rowBytes; i++) out[dst + i] = (raw[src + i]! + out[dst + i - bpp]!) & 0xff;
        } else {
          for (let i = 0; i < bpp; i++) out[dst + i] = (raw[src + i]! + out[up + i]!) & 0xff;
          for (let i = bpp; i < rowBytes; i++) {
            const a = out[dst + i - bpp]!;
            const b = out[up + i]!;
            const c = out[up + i - bpp]!;
            const p = a + b - c;
            const pa = p > a ? p - a : a - p;
            const pb = p > b ? p - b : b - p;
            const pc = p > c ? p - c : c - p;
            const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            out[dst + i] = (raw[src + i]! + pred) & 0xff;
          }
        }
        break;
      default:
        bad(`row ${y} has filter type ${filter}, not 0-4`);
    }
  }
}

/**
 * Decodes a PNG (8-bit greyscale, grey + alpha, RGB or RGBA; not interlaced), checking every
 * chunk CRC.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { decodePng } from 'ae-manifold/node';
 * const png = decodePng(readFileSync('.cache/cifar10/test_batch.png'));
 * [png.width, png.height, png.channels]; // [1024, 10000, 3]
 * ```
 * @param bytes the whole file
 * @param source a name for error messages (a path), default `'PNG data'`
 * @throws DataUnavailableError when the data is not a PNG this decoder reads, or is corrupt
 * @category Data
 */
export function decodePng(bytes: Uint8Array, source = 'PNG data'): DecodedPng {
  return decodePngBytes('decodePng', bytes, source, '');
}
