/**
 * probes: probe the 10,000 MNIST test images through every layer of the MNIST CNN (METHODS.md §8,
 * `createMnistCnn`; untrained seeded weights: throughput does not depend on them) with
 * `probeLayers` and `probeLayersStream`, on wasm and cpu. Each configuration runs in its own
 * process so that its peak RSS is its own.
 *
 * Reported per configuration: images/s (one cold-ish run after a 512-image warm-up, then the median
 * of timed repetitions), peak RSS, and a memory bound checked against the peak:
 *
 *   bound = baseline RSS (Node + tfjs + backend + model + the 31 MB input set, after the warm-up)
 *         + result bytes (N x sum of layer widths x 4; 0 for the stream)
 *         + 4 x one batch of activations (batchSize x sum of widths x 4: the batch's tensors on the
 *           backend, their data() copies, the model's intermediates, and a spare)
 *         + 64 MB slack (V8 garbage not yet collected).
 *
 * The Python reference of the same run: the same network in PyTorch (Debian's torch, NCHW, random
 * weights and inputs), every activation copied into preallocated [N, D] numpy arrays, batch 256,
 * 1 and 2 threads (`--no-python` skips it). Ratios are tfjs ÷ torch images/s.
 *
 * Usage: node build-XXX/bench/run.js --only probes [--quick] [--no-python] [--batch 256] [--cpu-images 10000]
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { DEBIAN_PYTHON, emit, note, peakRssMB, timeMedian } from './util.js';
import { listLayers, probeLayers, probeLayersStream } from '../src/probes/index.js';
import { createMnistCnn } from '../src/models/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { useWasmBackend } from '../src/backend/index.js';
import type { ImageSet } from '../src/data/types.js';

const CONFIGS = ['wasm', 'wasm-stream', 'wasm-2threads', 'cpu'] as const;
type Config = (typeof CONFIGS)[number];

const MB = 2 ** 20;

export async function run(args: Record<string, string | true>): Promise<void> {
  const child = args['probes-child'];
  if (typeof child === 'string') {
    await runConfig(child as Config, args);
    // The threaded wasm backend's pthread workers keep the event loop alive: leave explicitly
    // (stdout is a pipe, written synchronously on Linux).
    process.exit(0);
  }
  for (const config of CONFIGS) {
    note(`probes: ${config}`);
    const passThrough = Object.entries(args).flatMap(([k, v]) => (k === 'suite' || k === 'only' ? [] : v === true ? [`--${k}`] : [`--${k}`, v]));
    const r = spawnSync(process.execPath, [process.argv[1]!, '--suite', 'probes', '--probes-child', config, ...passThrough], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 * MB,
    });
    for (const line of (r.stdout ?? '').split('\n')) {
      if (line.startsWith('{') && !line.includes('"suite-done"')) process.stdout.write(line + '\n');
    }
    if (r.status !== 0) emit({ bench: 'probes', config, error: `child exited with ${r.status}` });
  }
  if (args['no-python'] !== true) {
    const n = args.quick === true ? 2_000 : 10_000;
    for (const threads of [1, 2]) {
      const r = spawnSync(DEBIAN_PYTHON, ['-c', TORCH_SCRIPT, String(n), '256', String(threads), args.quick === true ? '1' : '3'], { encoding: 'utf8' });
      const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
      if (r.status !== 0 || !line) note(`probes: torch reference failed (exit ${r.status}): ${(r.stderr ?? '').split('\n').slice(-3).join(' | ')}`);
      else process.stdout.write(line + '\n');
    }
  }
}

/** The PyTorch reference: MNIST CNN of METHODS.md §8, all 10 activations into [N, D] numpy arrays. */
const TORCH_SCRIPT = `import sys, time, json, resource
import numpy as np, torch
n, batch, threads, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads); torch.manual_seed(0)
net = torch.nn.ModuleList([torch.nn.Conv2d(1, 16, 5), torch.nn.MaxPool2d(2), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 5), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.ReLU(), torch.nn.Linear(256, 10)]).eval()
x = torch.rand(n, 1, 28, 28)
mean, std = 0.13066041, 0.30150411
def probe():
    outs = None
    with torch.no_grad():
        for s in range(0, n, batch):
            h = x[s:s + batch]
            acts = [h.reshape(len(h), -1), ((h - mean) / std).reshape(len(h), -1)]
            h = (h - mean) / std
            for m in net:
                h = m(h); acts.append(h.reshape(len(h), -1))
            if outs is None: outs = [np.empty((n, a.shape[1]), np.float32) for a in acts]
            for o, a in zip(outs, acts): o[s:s + len(a)] = a.numpy()
    return outs
probe()  # warm-up
times = []
for _ in range(reps):
    t0 = time.perf_counter(); r = probe(); times.append(time.perf_counter() - t0); del r
times.sort(); med = times[len(times) // 2]
print(json.dumps({"bench": "probes-torch", "threads": threads, "images": n, "floatsPerImage": sum(a for a in [784, 784, 9216, 2304, 2304, 1024, 256, 256, 256, 10]), "medianSec": med, "reps": reps, "imagesPerSec": round(n / med), "peakRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "torch": torch.__version__}))
`;

async function runConfig(config: Config, args: Record<string, string | true>): Promise<void> {
  const quick = args.quick === true;
  const batchSize = typeof args.batch === 'string' ? Number(args.batch) : 256;
  let backendDetail: Record<string, unknown>;
  if (config === 'cpu') {
    const ok = await tf.setBackend('cpu');
    if (!ok || tf.getBackend() !== 'cpu') throw new Error(`tf.setBackend('cpu') resolved to ${String(ok)}`);
    backendDetail = { backend: 'cpu' };
  } else {
    const report = await useWasmBackend({ threads: config === 'wasm-2threads' ? 2 : 1 });
    backendDetail = { backend: 'wasm', simd: report.simd, threads: report.threads };
  }
  tf.env().set('IS_TEST', true);

  const all: ImageSet = await loadMnist({ split: 'test' });
  const cpuImages = typeof args['cpu-images'] === 'string' ? Number(args['cpu-images']) : quick ? 500 : 10_000;
  const n = config === 'cpu' ? Math.min(cpuImages, all.shape[0]) : quick ? 2_000 : all.shape[0];
  const streaming = config === 'wasm-stream';
  const inputs = { data: all.images.subarray(0, n * 784), shape: [n, 28, 28, 1] };
  const model = createMnistCnn({ seed: 1 });
  const layers = listLayers(model);
  const widths = layers.map((l) => l.size ?? 0);
  const rowFloats = widths.reduce((a, b) => a + b, 0);
  const resultBytes = streaming ? 0 : n * rowFloats * 4;
  const batchBytes = batchSize * rowFloats * 4;

  // Warm-up (V8 and wasm tier-up, heap growth to one batch).
  const warm = await probeLayers(model, { data: all.images.subarray(0, 512 * 784), shape: [512, 28, 28, 1] }, { layers: 'all', batchSize });
  warm.dispose();
  const baselineMB = process.memoryUsage().rss / MB;
  const tensorsBefore = tf.memory().numTensors;

  // One measured run: its peak RSS is checked against the bound.
  const t0 = performance.now();
  let checksum = 0;
  if (streaming) {
    for await (const batch of probeLayersStream(model, inputs, { layers: 'all', batchSize })) {
      for (const l of batch.layers) checksum += l.activations.data[0]!;
    }
  } else {
    const set = await probeLayers(model, inputs, { layers: 'all', batchSize });
    for (const l of set.layers) checksum += l.activations.data[l.activations.data.length - 1]!;
    set.dispose();
  }
  const firstSec = (performance.now() - t0) / 1000;
  const peakMB = peakRssMB();
  const boundMB = baselineMB + (resultBytes + 4 * batchBytes) / MB + 64;
  const leaked = tf.memory().numTensors - tensorsBefore;

  // Throughput: median of further runs (each result dropped before the next).
  const timing = await timeMedian(
    async () => {
      if (streaming) {
        for await (const batch of probeLayersStream(model, inputs, { layers: 'all', batchSize })) void batch;
      } else {
        (await probeLayers(model, inputs, { layers: 'all', batchSize })).dispose();
      }
    },
    { warmup: 0, minReps: quick || config === 'cpu' ? 1 : 3, maxReps: quick || config === 'cpu' ? 1 : 5, minSeconds: 0 },
  );
  emit({
    bench: 'probes',
    config,
    ...backendDetail,
    model: 'mnist-cnn (createMnistCnn, seed 1)',
    layers: layers.length,
    floatsPerImage: rowFloats,
    images: n,
    batchSize,
    firstRunSec: round(firstSec),
    firstRunImagesPerSec: Math.round(n / firstSec),
    medianSec: round(timing.medianSec),
    reps: timing.reps,
    imagesPerSec: Math.round(n / timing.medianSec),
    resultMB: Math.round(resultBytes / MB),
    batchMB: round(batchBytes / MB),
    baselineRssMB: Math.round(baselineMB),
    peakRssMB: peakMB,
    boundMB: Math.round(boundMB),
    withinBound: peakMB <= boundMB,
    leakedTensors: leaked,
    checksum: round(checksum),
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
