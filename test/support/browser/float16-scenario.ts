/**
 * The float16 scenario of test/browser.test.ts, run in a fresh page whose WebGL backend is forced
 * onto half-float textures (`WEBGL_RENDER_FLOAT32_ENABLED` false before it initialises): what the
 * library measures as the backend's precision, a short CW-L2 on inputs with exact 0 and 1 values
 * (κ = 0 and κ = 0.02), SNNL on rows whose squared distances exceed float16's 65504, and the same
 * numbers on the page's cpu backend for comparison. Bundled by esbuild; never run by Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendFloatPrecision } from '../../../src/backend/precision.js';
import { carliniWagnerL2, optimalSnnl, softNearestNeighborLoss } from '../../../src/index.js';
import { buildScenarioModel } from './scenario.js';

/** One CW-L2 run on float16 WebGL, re-predicted on float16 WebGL and on cpu. */
export interface Float16AttackRun {
  confidence: number;
  success: number[];
  /** `Infinity` where the attack failed comes back as null through page.evaluate. */
  distance: (number | null)[];
  predicted: number[];
  warnings: string[];
  /** The returned adversarial inputs. */
  adversarial: number[];
  /** argmax of a fresh float16 prediction of `adversarial`. */
  repredictedFloat16: number[];
  /** argmax of a cpu (float32) prediction of `adversarial`. */
  repredictedCpu: number[];
  /** Logit margin on cpu: max over the other classes minus the label's logit (> 0: adversarial). */
  cpuMargin: number[];
}

export interface Float16ScenarioResult {
  /** False when WebGL did not start; `error` says why. */
  available: boolean;
  error: string | null;
  backend: string;
  renderFloat32Enabled: boolean;
  /** What tfjs-backend-webgl's own `floatPrecision()` answers (measured wrong in 4.22). */
  tfjsFloatPrecision: number;
  /** {@link backendFloatPrecision} on the forced float16 backend. */
  measuredPrecision: number;
  /** {@link backendFloatPrecision} on the page's cpu backend. */
  cpuMeasuredPrecision: number;
  inputs: number[];
  labels: number[];
  runs: Float16AttackRun[];
  /** CW-L2 with κ = 0 on the cpu backend of the same page (the float32 reference). */
  cpuRun: { success: number[]; distance: (number | null)[] };
  snnl: { temperatures: number[]; float16: number[]; cpu: number[]; gradFinite: boolean };
  optimal: { float16: { loss: number; temperature: number; mu: number }; cpu: { loss: number; temperature: number; mu: number } };
  leakedTensors: number;
}

export const FLOAT16_ROWS = 6;

/** Inputs with exact 0 and 1 values (and a few in between): `rows` examples of 8 values. */
export function edgeInputs(rows: number): Float32Array {
  const out = new Float32Array(rows * 8);
  for (let i = 0; i < out.length; i++) {
    const v = Math.sin(12.9898 * (i + 1) + 78.233 * 31);
    out[i] = v > 0.3 ? 1 : v < -0.3 ? 0 : 0.5 + v;
  }
  return out;
}

/** 40 rows of 50 values, two labels, pairwise squared distances up to ~10⁶ (float16 stops at 65504). */
function snnlRows(): { data: Float32Array; labels: number[] } {
  const rows = 40;
  const cols = 50;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(12.9898 * (i + 100) + 78.233 * 5) * 60 + (Math.floor(i / cols) % 2) * 20;
  return { data, labels: Array.from({ length: rows }, (_, i) => i % 2) };
}

const SNNL_TEMPERATURES = [1e-4, 1e2, 1e4, 1e5, 1e7];

function argmaxRows(z: Float32Array, K: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < z.length / K; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (z[r * K + k]! > z[r * K + best]!) best = k;
    out.push(best);
  }
  return out;
}

async function predict(data: Float32Array, rows: number): Promise<Float32Array> {
  const model = buildScenarioModel();
  try {
    const z = tf.tidy(() => model.predict(tf.tensor2d(data, [rows, 8])) as tf.Tensor);
    const v = (await z.data()) as Float32Array;
    z.dispose();
    return Float32Array.from(v);
  } finally {
    model.dispose();
  }
}

async function snnlNumbers(): Promise<{ losses: number[]; gradFinite: boolean; optimal: { loss: number; temperature: number; mu: number } }> {
  const { data, labels } = snnlRows();
  const m = { data, rows: labels.length, cols: 50 };
  const losses: number[] = [];
  for (const T of SNNL_TEMPERATURES) {
    const l = softNearestNeighborLoss(m, labels, { temperature: T });
    losses.push((await l.data())[0]!);
    l.dispose();
  }
  const x = tf.tensor2d(data, [labels.length, 50]);
  const g = tf.grad((t: tf.Tensor) => softNearestNeighborLoss(t as tf.Tensor2D, labels, { temperature: 1e4 }))(x);
  const gradFinite = Array.from(await g.data()).every(Number.isFinite);
  g.dispose();
  x.dispose();
  const o = await optimalSnnl(m, labels);
  return { losses, gradFinite, optimal: { loss: o.loss, temperature: o.temperature, mu: o.medianSquaredDistance } };
}

/** Runs the scenario; call it in a page where no WebGL backend has been initialised yet. */
export async function runFloat16Scenario(): Promise<Float16ScenarioResult> {
  const empty = (error: string): Float16ScenarioResult =>
    ({ available: false, error } as unknown as Float16ScenarioResult);
  tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', false);
  try {
    if (!(await tf.setBackend('webgl'))) return empty("tf.setBackend('webgl') returned false");
    await tf.ready();
  } catch (e) {
    return empty(e instanceof Error ? e.message : String(e));
  }
  const before = tf.memory().numTensors;
  const backendObj = tf.backend() as { floatPrecision?: () => number };
  const tfjsFloatPrecision = typeof backendObj.floatPrecision === 'function' ? backendObj.floatPrecision() : 0;
  const measuredPrecision = backendFloatPrecision();
  const N = FLOAT16_ROWS;
  const xs = edgeInputs(N);
  const labels = argmaxRows(await predict(xs, N), 3);
  const attack = async (confidence: number) => {
    const model = buildScenarioModel();
    const x = tf.tensor2d(xs, [N, 8]);
    try {
      const r = await carliniWagnerL2(model, x, labels, { maxIterations: 60, binarySearchSteps: 3, initialConst: 1, learningRate: 0.05, confidence });
      const adversarial = Float32Array.from((await r.adversarial.data()) as Float32Array);
      r.dispose();
      return { confidence, r, adversarial };
    } finally {
      x.dispose();
      model.dispose();
    }
  };
  const raw = [await attack(0), await attack(0.02)];
  const runs: Float16AttackRun[] = [];
  for (const { confidence, r, adversarial } of raw) {
    runs.push({
      confidence,
      success: Array.from(r.success),
      distance: Array.from(r.distance, (d) => (Number.isFinite(d) ? d : null)),
      predicted: Array.from(r.predicted),
      warnings: [...r.warnings],
      adversarial: Array.from(adversarial),
      repredictedFloat16: argmaxRows(await predict(adversarial, N), 3),
      repredictedCpu: [],
      cpuMargin: [],
    });
  }
  const f16Snnl = await snnlNumbers();
  const leakedTensors = tf.memory().numTensors - before;

  // The float32 reference in the same page.
  await tf.setBackend('cpu');
  await tf.ready();
  const cpuMeasuredPrecision = backendFloatPrecision();
  for (const run of runs) {
    const z = await predict(Float32Array.from(run.adversarial), N);
    run.repredictedCpu = argmaxRows(z, 3);
    run.cpuMargin = labels.map((y, i) => Math.max(...[0, 1, 2].filter((k) => k !== y).map((k) => z[i * 3 + k]!)) - z[i * 3 + y]!);
  }
  const cpuModel = buildScenarioModel();
  const cx = tf.tensor2d(xs, [N, 8]);
  const cr = await carliniWagnerL2(cpuModel, cx, labels, { maxIterations: 60, binarySearchSteps: 3, initialConst: 1, learningRate: 0.05 });
  const cpuRun = { success: Array.from(cr.success), distance: Array.from(cr.distance, (d) => (Number.isFinite(d) ? d : null)) };
  cr.dispose();
  cx.dispose();
  cpuModel.dispose();
  const cpuSnnl = await snnlNumbers();
  return {
    available: true,
    error: null,
    backend: 'webgl',
    renderFloat32Enabled: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'),
    tfjsFloatPrecision,
    measuredPrecision,
    cpuMeasuredPrecision,
    inputs: Array.from(xs),
    labels,
    runs,
    cpuRun,
    snnl: { temperatures: SNNL_TEMPERATURES, float16: f16Snnl.losses, cpu: cpuSnnl.losses, gradFinite: f16Snnl.gradFinite },
    optimal: { float16: f16Snnl.optimal, cpu: cpuSnnl.optimal },
    leakedTensors,
  };
}
