/**
 * ae-manifold's wasm SIMD kernels (kernels.c, embedded by scripts/build-simd-kernels.sh), bound to
 * the memory of a tfjs wasm backend: the module imports the backend's own `WebAssembly.Memory`, so
 * kernels read and write tensors where they are in the heap, without copies. Relies on
 * `BackendWasm` internals of the pinned version (`wasm.asm.memory` single-threaded,
 * `wasm.wasmMemory` threaded).
 * @module
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SIMD_KERNELS_PLAIN, SIMD_KERNELS_SHARED } from './binary.js';
import { f32 } from '../heap.js';
import type { WasmHeapBackend } from '../heap.js';

/** The kernels of the module, on tensors of one backend (float32, NHWC). */
export interface SimdKernels {
  /** dx [N, H, W, C] = overlap-add of P [N·Ho·Wo, kh·kw·C] (every element of dx is written). */
  col2im(P: TensorInfo, dx: TensorInfo, geometry: Col2imGeometry): void;
  /** MaxPoolGrad for 2×2 windows with stride 2 and no padding. */
  maxPoolGrad2x2(x: TensorInfo, dy: TensorInfo, dx: TensorInfo, N: number, H: number, W: number, C: number, Ho: number, Wo: number): void;
  /** y = tanh(x), elementwise. */
  tanh(x: TensorInfo, y: TensorInfo): void;
  /** The box, distance and local derivatives of a C&W step (kernels.c: `cw_box`). */
  cwBox(inputs: CwBoxInputs, outputs: CwBoxOutputs, rows: number, D: number): void;
  /** The step's gradient and Adam update (kernels.c: `cw_adam`). */
  cwAdam(inputs: CwAdamInputs, outputs: CwAdamOutputs, rows: number, D: number, constants: AdamConstants): void;
  /** y = x ⋆ w + bias (then ReLU when `relu`) for a one-channel x: 'valid', stride 1, Co % 4 = 0. */
  conv1chForward(x: TensorInfo, w: TensorInfo, bias: TensorInfo | undefined, y: TensorInfo, geometry: Conv1chGeometry, relu: boolean): void;
  /**
   * Whether dy has at most one non-zero value per 2 × 2 block and channel (a max-pool's
   * gradient), recording the blocks in `scratch` ({@link convPooledScratchSize} floats) for
   * {@link SimdKernels.convDxPooled} (kernels.c: `conv_dx_pooled_check`).
   */
  convDxPooledCheck(dy: TensorInfo, scratch: TensorInfo, geometry: ConvPooledGeometry): boolean;
  /** dx of a 'valid' stride-1 convolution from the blocks a successful check left in `scratch` (kernels.c: `conv_dx_pooled`). */
  convDxPooled(filter: TensorInfo, dx: TensorInfo, scratch: TensorInfo, geometry: ConvPooledGeometry): void;
}

/** Shapes of a 'valid' stride-1 convolution: dy [N, Ho, Wo, Co], filter [kh, kw, Ci, Co]. */
export interface ConvPooledGeometry {
  N: number;
  Ho: number;
  Wo: number;
  Co: number;
  kh: number;
  kw: number;
  Ci: number;
}

/** Shapes of a one-input-channel 'valid' convolution: x [N, H, W, 1], w [kh, kw, 1, Co]. */
export interface Conv1chGeometry {
  N: number;
  H: number;
  W: number;
  kh: number;
  kw: number;
  Co: number;
}

/** Inputs of `cw_box`: `[rows, D]` tensors, `[D]` mid and half, `[rows]` τ (L∞ only). */
export interface CwBoxInputs {
  delta: TensorInfo;
  base: TensorInfo;
  mid: TensorInfo;
  half: TensorInfo;
  xt: TensorInfo;
  mask?: TensorInfo | undefined;
  x?: TensorInfo | undefined;
  tau?: TensorInfo | undefined;
}

/** Outputs of `cw_box`: x′, jac and dper `[rows, D]`, dist `[rows]`. */
export interface CwBoxOutputs {
  img: TensorInfo;
  dist: TensorInfo;
  jac: TensorInfo;
  dper: TensorInfo;
}

/** Inputs of `cw_adam`: `[rows, D]` tensors, `[rows]` step sizes and (optional) active flags. */
export interface CwAdamInputs {
  gImg: TensorInfo;
  jac: TensorInfo;
  dper: TensorInfo;
  delta: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  stepSize: TensorInfo;
  active?: TensorInfo | undefined;
}

/** Outputs of `cw_adam`, all `[rows, D]`. */
export interface CwAdamOutputs {
  grad: TensorInfo;
  delta: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
}

/** Adam's float32 constants: β₁, 1 − β₁, β₂, 1 − β₂, ε. */
export interface AdamConstants {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  epsilon: number;
}

/** Shapes, strides and padding of a col2im. */
export interface Col2imGeometry {
  N: number;
  H: number;
  W: number;
  C: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

/** Floats of scratch `conv_dx_pooled` needs (kernels.c). */
export function convPooledScratchSize(g: ConvPooledGeometry): number {
  const blocksAndFilter = 2 * g.N * Math.floor(g.Ho / 2) * Math.floor(g.Wo / 2) * g.Co + g.kh * g.kw * g.Ci * g.Co;
  if (g.Ci % 4 === 0) return blocksAndFilter + 8 * g.Co + 4;
  const tile = Math.ceil(((g.kh + 1) * (g.kw + 1) * g.Ci) / 4) * 4;
  return blocksAndFilter + g.Co * 4 * tile + tile;
}

interface Exports {
  col2im(...args: number[]): void;
  max_pool_grad_2x2(...args: number[]): void;
  tanh_f32(x: number, y: number, n: number): void;
  cw_box(...args: number[]): void;
  cw_adam(...args: number[]): void;
  conv1ch_forward(...args: number[]): void;
  conv_dx_pooled_check(...args: number[]): number;
  conv_dx_pooled(...args: number[]): void;
}

const loaded = new WeakMap<object, SimdKernels>();

/** The memory of a tfjs wasm backend, or `undefined` when this version does not expose it. */
function backendMemory(backend: unknown): WebAssembly.Memory | undefined {
  const wasm = (backend as { wasm?: { wasmMemory?: unknown; asm?: { memory?: unknown } } }).wasm;
  const m = wasm?.wasmMemory ?? wasm?.asm?.memory;
  return m instanceof WebAssembly.Memory ? m : undefined;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const text = atob(s);
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Instantiates the kernels module on the backend's memory (once per backend) and returns whether
 * the kernels are available. `false` when the engine has no wasm SIMD or the backend's memory is
 * not reachable; the callers then keep their JavaScript or stock paths.
 */
export async function loadSimdKernels(backend: WasmHeapBackend): Promise<boolean> {
  if (loaded.has(backend)) return true;
  const memory = backendMemory(backend);
  if (!memory) return false;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = decodeBase64(shared ? SIMD_KERNELS_SHARED : SIMD_KERNELS_PLAIN);
  if (!WebAssembly.validate(bytes)) return false;
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  const e = instance.exports as unknown as Exports;
  const at = (info: TensorInfo): number => f32(backend, info).byteOffset;
  // 0 is never a tensor's offset (the heap starts with the backend's static data): "no tensor".
  const opt = (info: TensorInfo | undefined): number => (info ? at(info) : 0);
  loaded.set(backend, {
    col2im(P, dx, g) {
      e.col2im(at(P), at(dx), g.N, g.H, g.W, g.C, g.Ho, g.Wo, g.kh, g.kw, g.sh, g.sw, g.top, g.left);
    },
    maxPoolGrad2x2(x, dy, dx, N, H, W, C, Ho, Wo) {
      e.max_pool_grad_2x2(at(x), at(dy), at(dx), N, H, W, C, Ho, Wo);
    },
    tanh(x, y) {
      e.tanh_f32(at(x), at(y), f32(backend, x).length);
    },
    cwBox(i, o, rows, D) {
      e.cw_box(at(i.delta), at(i.base), at(i.mid), at(i.half), at(i.xt), opt(i.mask), opt(i.x), opt(i.tau), at(o.img), at(o.dist), at(o.jac), at(o.dper), rows, D, i.tau ? 1 : 0);
    },
    cwAdam(i, o, rows, D, k) {
      e.cw_adam(at(i.gImg), at(i.jac), at(i.dper), at(i.delta), at(i.m), at(i.v), at(i.stepSize), opt(i.active), at(o.grad), at(o.delta), at(o.m), at(o.v), rows, D, k.beta1, k.oneMinusBeta1, k.beta2, k.oneMinusBeta2, k.epsilon);
    },
    conv1chForward(x, w, bias, y, g, relu) {
      e.conv1ch_forward(at(x), at(w), opt(bias), at(y), g.N, g.H, g.W, g.kh, g.kw, g.Co, relu ? 1 : 0);
    },
    convDxPooledCheck(dy, scratch, g) {
      return e.conv_dx_pooled_check(at(dy), at(scratch), g.N, g.Ho, g.Wo, g.Co) === 1;
    },
    convDxPooled(filter, dx, scratch, g) {
      e.conv_dx_pooled(at(filter), at(dx), at(scratch), g.N, g.Ho, g.Wo, g.Co, g.kh, g.kw, g.Ci);
    },
  });
  return true;
}

/** The kernels bound to `backend`, if {@link loadSimdKernels} succeeded on it. */
export function simdKernelsOf(backend: unknown): SimdKernels | undefined {
  return typeof backend === 'object' && backend !== null ? loaded.get(backend) : undefined;
}
