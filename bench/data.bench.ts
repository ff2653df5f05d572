/**
 * Data loaders: wall time (median after warm-up) of loading each split of MNIST, Fashion-MNIST and
 * CIFAR-10 into float32 NHWC, plus the pure-JS PNG decoding of one CIFAR-10 batch.
 * `--quick` times the test splits only, with fewer repetitions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emit, note, peakRssMB, timeMedian } from './util.js';
import { decodePng, defaultCifar10Dir, loadCifar10, loadFashionMnist, loadMnist } from '../src/data/index.js';
import type { LoadOptions } from '../src/data/index.js';
import type { ImageSet } from '../src/data/types.js';

export async function run(args: Record<string, string | true>): Promise<void> {
  const quick = args.quick === true;
  const timing = quick ? { warmup: 1, minSeconds: 1, minReps: 2, maxReps: 3 } : { warmup: 1, minSeconds: 6, minReps: 3, maxReps: 10 };
  const loaders: Array<[string, (o?: LoadOptions) => Promise<ImageSet>]> = [
    ['mnist', loadMnist],
    ['fashion-mnist', loadFashionMnist],
    ['cifar10', loadCifar10],
  ];
  for (const [name, load] of loaders) {
    for (const split of quick ? (['test'] as const) : (['test', 'train'] as const)) {
      let images = 0;
      const t = await timeMedian(async () => {
        images = (await load({ split })).shape[0];
      }, timing);
      emit({ bench: 'data-load', dataset: name, split, images, medianSec: t.medianSec, minSec: t.minSec, reps: t.reps, imagesPerSec: Math.round(images / t.medianSec) });
    }
  }
  const png = readFileSync(join(defaultCifar10Dir(), 'test_batch.png'));
  const t = await timeMedian(() => decodePng(png), timing);
  const mbRaw = (1024 * 10_000 * 3) / 1e6;
  emit({ bench: 'data-png-decode', file: 'test_batch.png', pixelsMB: mbRaw, medianSec: t.medianSec, reps: t.reps, mbPerSec: Math.round(mbRaw / t.medianSec) });
  note(`data loaders done, peak RSS ${peakRssMB()} MB`);
}
