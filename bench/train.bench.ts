/**
 * Training benchmark (issue 4): one optimisation step of the library's training loop (`trainStep`:
 * softmax cross-entropy from logits, backward, Adam) at the study's batch size 64 on the wasm
 * backend, for the three study networks and for the reference CNN of ../shared/reference, whose
 * step PyTorch (bench_torch.py `trainStep`, same batch, same threads) also times in this run.
 * Prints images/s, the implied time of one training epoch, and the ratio to PyTorch.
 *
 * Usage (after `npm run build:test`):
 *   node build-test/bench/run.js --only train [--quick] [--threads 1|2] [--no-python] [--profile] [--nets a,b]
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useWasmBackend } from '../src/backend/index.js';
import { createCifarCnn, createMnistCnn, createMnistMlp } from '../src/models/index.js';
import { trainStep } from '../src/models/train.js';
import { referenceCnn } from './backend.bench.js';
import { emit, note, peakRssMB, profileKernels, runPythonReference, timeMedian } from './util.js';
import type { TimingOptions } from './util.js';

interface Net {
  name: string;
  build: () => tfl.LayersModel;
  input: [number, number, number];
  /** Training images per epoch of the data set the net is trained on. */
  epochImages: number;
}

const NETS: Net[] = [
  { name: 'reference-cnn', build: referenceCnn, input: [28, 28, 1], epochImages: 60000 },
  { name: 'mnist-mlp', build: () => createMnistMlp({ seed: 1 }), input: [28, 28, 1], epochImages: 60000 },
  { name: 'mnist-cnn', build: () => createMnistCnn({ seed: 1 }), input: [28, 28, 1], epochImages: 60000 },
  { name: 'cifar10-cnn', build: () => createCifarCnn({ seed: 1 }), input: [32, 32, 3], epochImages: 50000 },
];

export async function run(args: Record<string, string | true>): Promise<void> {
  const quick = args.quick === true;
  const threads = args.threads === undefined ? 1 : Number(args.threads);
  const batch = args.batch === undefined ? 64 : Number(args.batch);
  const timing: TimingOptions = quick ? { warmup: 2, minSeconds: 1, minReps: 3, maxReps: 8 } : { warmup: 3, minSeconds: 6, minReps: 5, maxReps: 40 };
  const report = await useWasmBackend({ threads });
  note(`wasm: simd ${report.simd}, ${report.threads} thread(s), kernels ${report.kernels.join(', ')}`);

  const results: Record<string, number> = {};
  const only = typeof args.nets === 'string' ? args.nets.split(',') : undefined;
  for (const net of NETS.filter((n) => !only || only.includes(n.name))) {
    const model = net.build();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = tf.train.adam(1e-3);
    const x = tf.randomUniform([batch, ...net.input], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10));
    try {
      const t = await timeMedian(async () => {
        const loss = trainStep(model, optimizer, x, y, vars);
        await loss.data();
        loss.dispose();
      }, timing);
      const ips = batch / t.medianSec;
      results[net.name] = ips;
      emit({
        bench: 'train',
        net: net.name,
        backend: 'wasm',
        threads: report.threads,
        batch,
        reps: t.reps,
        medianSec: t.medianSec,
        imagesPerSec: Math.round(ips),
        epochSecEstimate: Math.round(net.epochImages / ips),
      });
      if (args.profile === true) {
        const step = async () => {
          const loss = trainStep(model, optimizer, x, y, vars);
          await loss.data();
          loss.dispose();
        };
        emit({ bench: 'train-profile', net: net.name, threads: report.threads, batch, kernels: (await profileKernels(step)).slice(0, 12) });
      }
    } finally {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    }
  }

  let torchIps: number | undefined;
  if (args['no-python'] !== true) {
    const py = runPythonReference('bench_torch.py', [
      '--threads',
      String(report.threads),
      '--batch',
      String(batch),
      '--only',
      'trainStep',
      ...(quick ? ['--min-seconds', '1', '--max-reps', '8'] : []),
    ]);
    const line = py?.find((r) => r.bench === 'trainStep');
    if (line) {
      torchIps = Number(line.imagesPerSec);
      emit({ bench: 'train', net: 'reference-cnn', framework: 'pytorch', threads: report.threads, batch, imagesPerSec: Math.round(torchIps) });
    }
  }
  emit({
    bench: 'train',
    summary: true,
    threads: report.threads,
    batch,
    imagesPerSec: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(v)])),
    referenceCnnVsPytorch: torchIps ? Number((results['reference-cnn']! / torchIps).toFixed(3)) : null,
    peakRssMB: peakRssMB(),
  });
}
