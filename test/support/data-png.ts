// A minimal PNG encoder for the data tests: any filter per row, several IDAT chunks, and
// deliberately odd headers, so the decoder can be checked against known pixels.
import { deflateSync, crc32 } from 'node:zlib';

export interface TestPngOptions {
  width: number;
  height: number;
  colorType: number;
  pixels: Uint8Array;
  /** Filter type per row (default all 0); any byte, to test bad ones. */
  filters?: number[];
  idatChunks?: number;
  bitDepth?: number;
  interlace?: number;
  /** Use these bytes as the (already compressed) image data instead. */
  rawOverride?: Uint8Array;
}

const CH: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, false);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)) >>> 0, false);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Encodes 8-bit pixels (rows of width·channels bytes) as a PNG file. */
export function encodeTestPng(o: TestPngOptions): Uint8Array {
  const bpp = CH[o.colorType] ?? 3;
  const rowBytes = o.width * bpp;
  const raw = new Uint8Array(o.height * (rowBytes + 1));
  for (let y = 0; y < o.height; y++) {
    const f = o.filters?.[y] ?? 0;
    raw[y * (rowBytes + 1)] = f;
    for (let i = 0; i < rowBytes; i++) {
      const x = o.pixels[y * rowBytes + i] ?? 0;
      const a = i >= bpp ? o.pixels[y * rowBytes + i - bpp]! : 0;
      const b = y > 0 ? o.pixels[(y - 1) * rowBytes + i]! : 0;
      const c = y > 0 && i >= bpp ? o.pixels[(y - 1) * rowBytes + i - bpp]! : 0;
      const pred = f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : f === 4 ? paeth(a, b, c) : 0;
      raw[y * (rowBytes + 1) + 1 + i] = (x - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, o.width, false);
  v.setUint32(4, o.height, false);
  ihdr[8] = o.bitDepth ?? 8;
  ihdr[9] = o.colorType;
  ihdr[12] = o.interlace ?? 0;
  const z = o.rawOverride ?? deflateSync(raw);
  const parts: Uint8Array[] = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  parts.push(chunk('tEXt', new TextEncoder().encode('Comment\0test')));
  const k = Math.max(1, o.idatChunks ?? 1);
  const step = Math.ceil(z.length / k);
  for (let s = 0; s < z.length; s += step) parts.push(chunk('IDAT', z.subarray(s, s + step)));
  parts.push(chunk('IEND', new Uint8Array(0)));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
