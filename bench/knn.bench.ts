/**
 * Exact kNN: k = 50, MNIST test queries × 60,000 training images × 784, tfjs-wasm vs scikit-learn
 * brute force (n_jobs 2) in the same run, with recall@k against sklearn's indices.
 *
 * node build-test/bench/run.js --only knn [--quick] [--no-python] [--batch 512] [--queries N]
 *   [--methods auto,brute,pruned]  time each `knnSearch` method (default auto)
 *   [--profile]                    one more (untimed) pruned run reporting where its time goes
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knnSearch, knnSearchMatrices } from '../src/metrics/knn.js';
import type { KnnInternalOptions, KnnMethod } from '../src/metrics/knn.js';
import { emptyPrunedStats } from '../src/metrics/knn-pruned.js';
import { emit, mnistDataDir, note, peakRssMB, runPythonReference, timeMedian } from './util.js';
import { loadMnist, recallAtK, useBenchWasm } from './knn-support.js';

export async function run(args: Record<string, string | true>): Promise<void> {
  const quick = args.quick === true;
  const k = Number(args.k ?? 50);
  const numQueries = Number(args.queries ?? (quick ? 1000 : 10000));
  const batchSize = Number(args.batch ?? 1024);
  const methods = (typeof args.methods === 'string' ? args.methods : 'auto').split(',') as KnnMethod[];
  const dir = mnistDataDir();
  const backend = await useBenchWasm(2);
  note(`knn: backend ${JSON.stringify(backend)}`);
  const train = loadMnist(dir, 'train');
  const test = loadMnist(dir, 't10k', numQueries);
  const ref = { data: train.data, rows: train.rows, cols: train.cols };
  const qry = { data: test.data, rows: test.rows, cols: test.cols };

  // Python reference first (its own process), then ours, back to back.
  let sk: { seconds: number; indices?: Int32Array } | undefined;
  if (args['no-python'] !== true) {
    const idxPath = join(tmpdir(), `knn-sklearn-${process.pid}.i32`);
    const reps = quick ? 1 : 3;
    const out = runPythonReference('knn_sklearn.py', [dir, '--k', String(k), '--queries', String(numQueries), '--n-jobs', '2', '--repeat', String(reps), '--save-indices', idxPath]);
    const summary = out?.find((r) => r.summary === true);
    if (summary) {
      const buf = readFileSync(idxPath);
      sk = { seconds: Number(summary.medianSeconds), indices: new Int32Array(buf.buffer, buf.byteOffset, buf.length / 4) };
      rmSync(idxPath, { force: true });
      emit({ bench: 'knn-exact', library: 'scikit-learn', k, numQueries, reps, medianSec: sk.seconds, maxRssMB: summary.maxRssMB });
    }
  }

  // Warm-up on a small slice (V8 / wasm tier-up), then full timed runs.
  const small = { data: qry.data.subarray(0, 512 * qry.cols), rows: Math.min(512, qry.rows), cols: qry.cols };
  for (const method of methods) {
    for (let i = 0; i < 2; i++) await knnSearch(ref, small, { k, batchSize, method });
    let last: Awaited<ReturnType<typeof knnSearch>> | undefined;
    const timing = await timeMedian(
      async () => {
        last = await knnSearch(ref, qry, { k, batchSize, method });
      },
      { warmup: 0, minReps: quick ? 1 : 3, maxReps: quick ? 1 : 3, minSeconds: 0 },
    );
    emit({
      bench: 'knn-exact',
      library: 'ae-manifold',
      method,
      ...backend,
      k,
      numQueries,
      numBase: ref.rows,
      dims: ref.cols,
      batchSize,
      reps: timing.reps,
      medianSec: timing.medianSec,
      samplesSec: timing.samplesSec,
      ratioVsSklearn: sk ? timing.medianSec / sk.seconds : null,
      recallAtK: sk?.indices && last ? recallAtK(last.indices, sk.indices, numQueries, k) : null,
      peakRssMB: peakRssMB(),
    });
  }

  if (args.profile === true) {
    // Where the pruned path's time goes (same call as method 'pruned', with counters).
    const stats = emptyPrunedStats();
    const opts: KnnInternalOptions = { method: 'pruned', stats };
    const t0 = performance.now();
    await knnSearchMatrices(ref, qry, k, false, batchSize, undefined, undefined, 'knnSearch', opts);
    const totalMs = performance.now() - t0;
    const perQuery = (v: number): number => Math.round(v / stats.queries);
    emit({
      bench: 'knn-exact-profile',
      numQueries,
      totalSec: totalMs / 1000,
      fitSec: stats.msFit / 1000,
      indexSec: stats.msIndex / 1000,
      projectQueriesSec: stats.msProject / 1000,
      boundMatMulSec: stats.msBound / 1000,
      selectAndExactSec: stats.msExact / 1000,
      rowsPastMatMulBoundPerQuery: perQuery(stats.bounded),
      rowsMeasuredExactlyPerQuery: perQuery(stats.visited),
      referenceRows: ref.rows,
      wasmDistanceKernel: stats.wasm,
    });
  }
}
