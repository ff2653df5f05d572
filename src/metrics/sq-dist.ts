/**
 * Squared Euclidean distance of float32 rows, summed in float64 in one fixed order, with an
 * optional early stop: a WebAssembly SIMD kernel where available and a JavaScript twin that gives
 * bit-identical results. Each (a_t − b_t)² is exact in float64; term t goes to partial sum
 * s[t mod 8] (each summed in increasing t), and d² = ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)).
 * Internal to the kNN search.
 * @module
 */

/**
 * d² of rows a[ao .. ao + n) and b[bo .. bo + n), or, once a check after every 16 coordinates finds
 * the partial d² above `limit`, that partial value (rounded sums of squares never decrease, so the
 * full d² is above `limit` too).
 */
export function sqDist(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, limit = Infinity): number {
  return sqDistFrom(0, a, ao, b, bo, n, limit);
}

/**
 * `start` + the squared distance, in the order described in the module comment, with the early stop
 * of {@link sqDist} (the partial value compared with `limit` is `start` + the partial d²).
 */
export function sqDistFrom(start: number, a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, limit: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  let t = 0;
  const n8 = n - (n % 8);
  while (t < n) {
    const end = t + 16 < n8 ? t + 16 : n8;
    for (; t < end; t += 8) {
      const d0 = a[ao + t]! - b[bo + t]!;
      const d1 = a[ao + t + 1]! - b[bo + t + 1]!;
      const d2 = a[ao + t + 2]! - b[bo + t + 2]!;
      const d3 = a[ao + t + 3]! - b[bo + t + 3]!;
      const d4 = a[ao + t + 4]! - b[bo + t + 4]!;
      const d5 = a[ao + t + 5]! - b[bo + t + 5]!;
      const d6 = a[ao + t + 6]! - b[bo + t + 6]!;
      const d7 = a[ao + t + 7]! - b[bo + t + 7]!;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
      s4 += d4 * d4;
      s5 += d5 * d5;
      s6 += d6 * d6;
      s7 += d7 * d7;
    }
    if (t === n8 && t < n) {
      // The last 1–7 coordinates, each into its own lane (t mod 8).
      for (let l = 0; t < n; t++, l++) {
        const d = a[ao + t]! - b[bo + t]!;
        const v = d * d;
        if (l === 0) s0 += v;
        else if (l === 1) s1 += v;
        else if (l === 2) s2 += v;
        else if (l === 3) s3 += v;
        else if (l === 4) s4 += v;
        else if (l === 5) s5 += v;
        else s6 += v;
      }
    }
    const s = start + (s0 + s4 + (s2 + s6) + (s1 + s5 + (s3 + s7)));
    if (s > limit) return s;
  }
  return start + (s0 + s4 + (s2 + s6) + (s1 + s5 + (s3 + s7)));
}

/**
 * The SIMD kernel over its own linear memory. Rows are stored padded with zeros to a multiple of
 * 16 float32 values (zeros add exactly nothing), at byte offsets chosen by the caller.
 */
export interface WasmSqDist {
  /** float32 view of the whole memory (valid for the kernel's life: the memory never grows). */
  f32: Float32Array;
  /** d² of the rows at byte offsets a and b, `blocks` blocks of 16 values, early stop above `limit`. */
  dist(a: number, b: number, blocks: number, limit: number): number;
  /** `start` + d², early stop when above `limit`. */
  distFrom(a: number, b: number, blocks: number, start: number, limit: number): number;
}

/**
 * Instantiates the kernel with `bytes` bytes of memory, or returns `undefined` when WebAssembly,
 * its SIMD, or that much memory is unavailable (callers then use the JavaScript twins).
 */
export function createWasmSqDist(bytes: number): WasmSqDist | undefined {
  if (typeof WebAssembly !== 'object' || bytes > 2 ** 31) return undefined;
  try {
    const code = moduleBytes();
    if (!WebAssembly.validate(code)) return undefined;
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } });
    const ex = instance.exports as { dist: WasmSqDist['dist']; distFrom: WasmSqDist['distFrom'] };
    return { f32: new Float32Array(memory.buffer), dist: ex.dist, distFrom: ex.distFrom };
  } catch {
    return undefined;
  }
}

/** Values per row in the kernel's memory: n rounded up to a multiple of 16. */
export function paddedLength(n: number): number {
  return Math.ceil(n / 16) * 16;
}

// --- The module, assembled by hand -----------------------------------------------------------
// (func $distFrom (param $a i32) (param $b i32) (param $n i32) (param $start f64) (param $limit f64)
//   (result f64) (local $x0 v128) (local $y0 v128) (local $x1 v128) (local $y1 v128) (local $s f64) (local $d v128)
//   per block of 16 values: for g in 0..3, acc = [x0, y0, x1, y1][g]:
//       acc += sq(promote(a[4g .. 4g+1]) − promote(b[4g .. 4g+1]))   (lanes t mod 8 = 4(g&1), 4(g&1)+1)
//     — x0 holds s0,s1; y0 s2,s3; x1 s4,s5; y1 s6,s7 —
//     a += 64; b += 64; n −= 1; d = (x0 + x1) + (y0 + y1); s = start + (d[0] + d[1]);
//     exit if s > limit; repeat while n ≠ 0
//   s)
// d[0] = (s0 + s4) + (s2 + s6) and d[1] = (s1 + s5) + (s3 + s7), as in the JavaScript twin.
// `dist` is `distFrom` with start = 0 (0 + v = v exactly for v ≥ 0).

const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, brIf: 0x0d, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Const: 0x41, f64Const: 0x44, i32Add: 0x6a, i32Sub: 0x6b, i32Eqz: 0x45, f64Add: 0xa0, f64Gt: 0x64, call: 0x10,
} as const;
/** SIMD opcodes (after the 0xfd prefix, LEB128). */
const SIMD = { load64Zero: [0x5d], promoteLow: [0x5f], extractLane: [0x21], f64x2Add: [0xf0, 0x01], f64x2Sub: [0xf1, 0x01], f64x2Mul: [0xf2, 0x01], const: [0x0c] };
const V128 = 0x7b;
const I32 = 0x7f;
const F64 = 0x7c;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  return vec(Array.from(s, (c) => [c.charCodeAt(0)]));
}

let cachedModule: Uint8Array<ArrayBuffer> | undefined;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  if (cachedModule) return cachedModule;
  const simd = (op: number[], ...imm: number[]): number[] => [0xfd, ...op, ...imm];
  // locals: 0 a, 1 b, 2 n, 3 start, 4 limit, 5 x0, 6 y0, 7 x1, 8 y1 (v128), 9 s (f64), 10 d (v128)
  const [A, B, N, START, LIMIT, X0, Y0, X1, Y1, S, DV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const sqTerm = (acc: number, off: number): number[] => [
    OP.localGet, acc,
    OP.localGet, A, ...simd(SIMD.load64Zero, 3, ...uleb(off)), ...simd(SIMD.promoteLow),
    OP.localGet, B, ...simd(SIMD.load64Zero, 3, ...uleb(off)), ...simd(SIMD.promoteLow),
    ...simd(SIMD.f64x2Sub),
    OP.localTee, DV, OP.localGet, DV, ...simd(SIMD.f64x2Mul),
    ...simd(SIMD.f64x2Add),
    OP.localSet, acc,
  ];
  const zero = (acc: number): number[] => [...simd(SIMD.const, ...new Array<number>(16).fill(0)), OP.localSet, acc];
  const body: number[] = [
    ...zero(X0), ...zero(Y0), ...zero(X1), ...zero(Y1),
    OP.localGet, START, OP.localSet, S,
    OP.block, 0x40,
    OP.localGet, N, OP.i32Eqz, OP.brIf, 0,
    OP.loop, 0x40,
  ];
  // Values 0–7 of the block: x0 (0,1), y0 (2,3), x1 (4,5), y1 (6,7); values 8–15 the same lanes.
  for (const half of [0, 32]) body.push(...sqTerm(X0, half), ...sqTerm(Y0, half + 8), ...sqTerm(X1, half + 16), ...sqTerm(Y1, half + 24));
  body.push(
    OP.localGet, A, OP.i32Const, ...[0xc0, 0x00], OP.i32Add, OP.localSet, A, // a += 64
    OP.localGet, B, OP.i32Const, ...[0xc0, 0x00], OP.i32Add, OP.localSet, B,
    OP.localGet, N, OP.i32Const, 1, OP.i32Sub, OP.localSet, N,
    // s = start + (d[0] + d[1]), d = (x0 + x1) + (y0 + y1)
    OP.localGet, START,
    OP.localGet, X0, OP.localGet, X1, ...simd(SIMD.f64x2Add),
    OP.localGet, Y0, OP.localGet, Y1, ...simd(SIMD.f64x2Add),
    ...simd(SIMD.f64x2Add), OP.localTee, DV, ...simd(SIMD.extractLane, 0),
    OP.localGet, DV, ...simd(SIMD.extractLane, 1),
    OP.f64Add, OP.f64Add, OP.localTee, S,
    OP.localGet, LIMIT, OP.f64Gt, OP.brIf, 1, // exit the block
    OP.localGet, N, OP.i32Eqz, OP.i32Eqz, OP.brIf, 0, // next block of 16
    OP.end,
    OP.end,
    OP.localGet, S,
    OP.end,
  );
  // Locals: 4 v128 (x0, y0, x1, y1), 1 f64 (s), 1 v128 (d).
  const fromCode = [...uleb(3), 4, V128, 1, F64, 1, V128, ...body];
  // dist(a, b, n, limit) = distFrom(a, b, n, 0, limit)
  const distCode = [...uleb(0), OP.localGet, 0, OP.localGet, 1, OP.localGet, 2, OP.f64Const, 0, 0, 0, 0, 0, 0, 0, 0, OP.localGet, 3, OP.call, 1, OP.end];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 (i32 i32 i32 f64) → f64, 1 (i32 i32 i32 f64 f64) → f64
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [F64]]), ...vec([[F64]])],
      [0x60, ...vec([[I32], [I32], [I32], [F64], [F64]]), ...vec([[F64]])],
    ])),
    // import env.memory (at least 1 page, no maximum)
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x01]])),
    // functions: 0 dist (type 0), 1 distFrom (type 1), both exported
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...str('dist'), 0x00, 0], [...str('distFrom'), 0x00, 1]])),
    ...section(10, vec([[...uleb(distCode.length), ...distCode], [...uleb(fromCode.length), ...fromCode]])),
  ];
  cachedModule = new Uint8Array(bytes);
  return cachedModule;
}
