/**
 * Backend benchmark (issue 3): the reference MNIST CNN of ../shared/reference/README.md at batch
 * 256 — forward, C&W-L2 input gradient, C&W Adam step, training step, hidden activations — on
 * tfjs cpu, wasm 1 thread and wasm 2 threads (each configuration in its own child process, as
 * the wasm backend initialises once per process), against PyTorch (bench_torch.py, 2 and 1
 * threads) run in the same benchmark, printing the ratios.
 *
 * Usage (after `npm run build:test`):
 *   node build-test/bench/run.js --only backend [--quick] [--no-python] [--profile]
 *   node build-test/bench/run.js --suite backend --config wasm2     (one configuration only)
 *
 * The cpu backend is ~40× slower: it runs at batch 32 (training step at batch 8) with one warm-up
 * call and 2 timed calls (1 for the training step); its images/s compare with the batch-256
 * figures only roughly. PyTorch with 2 threads runs before and after the tfjs configurations and
 * the ratios use the faster of its two runs.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { useWasmBackend } from '../src/backend/index.js';
import { toLogitsModel } from '../src/attacks/logits-model.js';
import { emit, note, peakRssMB, profileKernels, pythonBlas, runPythonReference, timeMedian } from './util.js';
import type { TimingOptions } from './util.js';

const BENCHES = ['forward', 'inputGrad', 'cwAdamStep', 'trainStep', 'activations'] as const;
type BenchName = (typeof BENCHES)[number];
const CONFIGS = ['wasm2', 'wasm1', 'cpu'] as const;
type Config = (typeof CONFIGS)[number];

/** The reference CNN: conv 32@3×3 ReLU → conv 64@3×3 ReLU → maxpool 2 → flatten → dense 128 ReLU → dense 10. */
export function referenceCnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

/** The five pieces of work of bench_torch.py on one batch; each call awaits its result and disposes it. */
export function referenceWork(model: tfl.Sequential, batch: number, seed = 0): { fns: Record<BenchName, () => Promise<void>>; dispose(): void } {
  const x0 = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', seed);
  const onehot = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', seed + 1), 10), 'float32'));
  const w = tf.variable(tf.tidy(() => tf.atanh(tf.clipByValue(tf.sub(tf.mul(x0, 2), 1), -0.999999, 0.999999))));
  const optW = tf.train.adam(0.01);
  const optModel = tf.train.adam(1e-3);
  const features = tfl.model({ inputs: model.inputs, outputs: model.layers[4]!.output as tfl.SymbolicTensor });
  const weights = model.trainableWeights.map((v) => v.read() as tf.Variable);
  // The attacks' own forward pass (replayed without the fused layers' eager weight gradients).
  const attackModel = toLogitsModel('bench', model);
  const cwLoss = (ww: tf.Tensor): tf.Scalar => {
    const xadv = tf.mul(0.5, tf.add(tf.tanh(ww), 1));
    const logits = attackModel.logits(xadv) as tf.Tensor2D;
    const real = tf.sum(tf.mul(onehot, logits), 1);
    const other = tf.max(tf.sub(tf.mul(tf.sub(1, onehot), logits), tf.mul(onehot, 1e4)), 1);
    const f = tf.maximum(tf.sub(real, other), 0); // kappa 0
    const dist = tf.sum(tf.square(tf.sub(xadv, x0)), [1, 2, 3]);
    return tf.sum(tf.add(dist, f)); // c 1
  };
  const fns: Record<BenchName, () => Promise<void>> = {
    async forward() {
      const y = model.predict(x0) as tf.Tensor;
      await y.data();
      y.dispose();
    },
    async inputGrad() {
      const g = tf.grad((ww) => cwLoss(ww))(w);
      await g.data();
      g.dispose();
    },
    async cwAdamStep() {
      const loss = optW.minimize(() => cwLoss(w), true, [w])!;
      await loss.data();
      loss.dispose();
    },
    async trainStep() {
      const loss = optModel.minimize(() => tf.losses.softmaxCrossEntropy(onehot, model.apply(x0) as tf.Tensor) as tf.Scalar, true, weights)!;
      await loss.data();
      loss.dispose();
    },
    async activations() {
      const a = features.predict(x0) as tf.Tensor;
      await a.data();
      a.dispose();
    },
  };
  return {
    fns,
    dispose() {
      tf.dispose([x0, onehot, w]);
      optW.dispose();
      optModel.dispose();
    },
  };
}

async function runConfig(config: Config, args: Record<string, string | true>): Promise<void> {
  const quick = args.quick === true;
  let setup: Record<string, unknown> = {};
  if (config === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend unavailable');
  } else {
    const report = await useWasmBackend({ threads: config === 'wasm2' ? 2 : 1, kernels: args['stock-kernels'] !== true });
    setup = { threads: report.threads, simd: report.simd, kernels: report.kernels, warnings: report.warnings, setupMs: report.setupMs };
  }
  const only = typeof args.benches === 'string' ? (args.benches.split(',') as BenchName[]) : [...BENCHES];
  const model = referenceCnn();
  for (const name of BENCHES) {
    if (!only.includes(name)) continue;
    let batch = 256;
    let timing: TimingOptions = quick ? { warmup: 2, minSeconds: 1, minReps: 3, maxReps: 5 } : { warmup: 2, minSeconds: 6, minReps: 3, maxReps: 20 };
    if (config === 'cpu') {
      // ~40× slower than wasm (the training step ~500×: its filter gradient is a plain loop).
      batch = name === 'trainStep' ? 8 : 32;
      const reps = quick || name === 'trainStep' ? 1 : 2;
      timing = { warmup: 1, minSeconds: 0, minReps: reps, maxReps: reps };
    }
    const work = referenceWork(model, batch);
    // One untimed call first: it creates the optimizers' state, which is not a leak.
    await work.fns[name]();
    const before = tf.memory().numTensors;
    const t = await timeMedian(work.fns[name], { ...timing, warmup: Math.max(0, (timing.warmup ?? 2) - 1) });
    const leaked = tf.memory().numTensors - before;
    emit({
      bench: 'backend',
      config,
      work: name,
      batch,
      reps: t.reps,
      medianSec: Number(t.medianSec.toFixed(4)),
      minSec: Number(t.minSec.toFixed(4)),
      imagesPerSec: Math.round((batch / t.medianSec) * 10) / 10,
      leakedTensors: leaked,
      ...setup,
    });
    if (args.profile === true && config !== 'cpu' && (name === 'inputGrad' || name === 'trainStep' || name === 'forward')) {
      emit({ bench: 'backend-profile', config, work: name, batch, kernels: (await profileKernels(work.fns[name])).slice(0, 12) });
    }
    work.dispose();
  }
  model.dispose();
  emit({ bench: 'backend-config-done', config, peakRssMB: peakRssMB() });
}

function spawnConfig(config: Config, args: Record<string, string | true>): Record<string, unknown>[] {
  const runJs = fileURLToPath(new URL('./run.js', import.meta.url));
  const extra = Object.entries(args)
    .filter(([k]) => ['quick', 'profile', 'benches', 'stock-kernels'].includes(k))
    .flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k}`, v]));
  const r = spawnSync(process.execPath, [runJs, '--suite', 'backend', '--config', config, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((rec) => rec.bench !== 'suite-done');
  for (const rec of lines) emit(rec as { bench: string });
  if (r.status !== 0) note(`backend config ${config} exited with ${String(r.status)}`);
  return lines;
}

function torch(threads: number, quick: boolean): Record<string, number> | undefined {
  const py = runPythonReference('bench_torch.py', ['--threads', String(threads), '--batch', '256', ...(quick ? ['--min-seconds', '1', '--max-reps', '5'] : [])]);
  if (!py) return undefined;
  for (const rec of py) emit({ bench: 'backend-torch', blas: pythonBlas(), ...rec });
  const summary = py.find((r) => r.summary === true) as { imagesPerSec?: Record<string, number>; maxRssMB?: number } | undefined;
  return summary?.imagesPerSec;
}

/** Entry point for bench/run.ts. */
export async function run(args: Record<string, string | true>): Promise<void> {
  if (typeof args.config === 'string') {
    if (!(CONFIGS as readonly string[]).includes(args.config)) throw new Error(`--config must be one of ${CONFIGS.join(', ')}`);
    await runConfig(args.config as Config, args);
    return;
  }
  const quick = args.quick === true;
  const python = args['no-python'] !== true;
  const configs = typeof args.configs === 'string' ? (args.configs.split(',') as Config[]) : [...CONFIGS];
  // Back to back, so that the ratios compare runs under the same machine load. PyTorch with 2
  // threads runs before and after the tfjs configurations; the ratio uses the faster of the two
  // runs for each measurement (the conservative choice on a shared, noisy machine).
  const torch2a = python ? torch(2, quick) : undefined;
  const results: Record<string, Record<string, unknown>[]> = {};
  for (const c of configs) {
    note(`backend: ${c}`);
    results[c] = spawnConfig(c, args);
  }
  const torch2b = python ? torch(2, quick) : undefined;
  const torch1 = python ? torch(1, quick) : undefined;
  const torch2 =
    torch2a && torch2b
      ? Object.fromEntries(Object.keys(torch2a).map((k) => [k, Math.max(torch2a[k] ?? 0, torch2b[k] ?? 0)]))
      : (torch2a ?? torch2b);
  const target: Record<BenchName, number | undefined> = { forward: 2, inputGrad: 1.1, cwAdamStep: 1.3, trainStep: 1.0, activations: undefined };
  for (const c of configs) {
    const ips: Record<string, number> = {};
    for (const rec of results[c] ?? []) if (rec.bench === 'backend') ips[rec.work as string] = rec.imagesPerSec as number;
    const rss = (results[c] ?? []).find((r) => r.bench === 'backend-config-done')?.peakRssMB;
    const ratio = (ref: Record<string, number> | undefined) =>
      ref ? Object.fromEntries(Object.entries(ips).map(([k, v]) => [k, ref[k] ? Math.round((v / ref[k]!) * 100) / 100 : null])) : null;
    emit({
      bench: 'backend-summary',
      config: c,
      imagesPerSec: ips,
      vsTorch2Threads: ratio(torch2),
      vsTorch1Thread: ratio(torch1),
      targetsVsTorch2Threads: c === 'wasm2' ? target : undefined,
      peakRssMB: rss,
      torch2ImagesPerSec: torch2 ?? null,
      torch2Runs: [torch2a ?? null, torch2b ?? null],
      torch1ImagesPerSec: torch1 ?? null,
      torchBlas: python ? pythonBlas() : null,
    });
  }
}

// Allow `node build-test/bench/backend.bench.js --config wasm1` directly too.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { parseArgs } = await import('./util.js');
  await run(parseArgs(process.argv.slice(2)));
}
