/**
 * Loading an MNIST-style data set (a pair of IDX files per split, plain or gzipped).
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../internal/validate.js';
import { decodeIdx } from './idx.js';
import { corrupt, readDataFile } from './read-file.js';
import { CLASS_NAMES } from './normalization.js';
import { HOW_TO_OBTAIN } from './sources.js';
import { firstBadLabel, toImageSet } from './image-set.js';
import { selectSubset } from './subset.js';
import type { CheckedLoadOptions } from './load-options.js';
import type { DatasetName, ImageSet } from './types.js';

/** `name` in `dir`, or `name.gz` when only the gzipped file is there. */
function idxPath(dir: string, name: string): string {
  const plain = join(dir, name);
  if (existsSync(plain)) return plain;
  const gz = `${plain}.gz`;
  return existsSync(gz) ? gz : plain;
}

/** Loads one split of an MNIST-layout data set from `dir`. @internal */
export async function loadIdxDataset(fn: string, dataset: DatasetName, dir: string, o: CheckedLoadOptions): Promise<ImageSet> {
  const hint = HOW_TO_OBTAIN[dataset];
  const prefix = o.split === 'train' ? 'train' : 't10k';
  const imagesPath = idxPath(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = idxPath(dir, `${prefix}-labels-idx1-ubyte`);
  const report = (step: number) => o.onProgress?.({ stage: `load-${dataset}`, step, total: 2 });

  const labelIdx = decodeIdx(fn, await readDataFile(fn, labelsPath, hint), labelsPath, hint);
  throwIfAborted(fn, o.signal);
  if (labelIdx.dims.length !== 1) corrupt(fn, labelsPath, `dims [${labelIdx.dims.join(', ')}] are not [n] of a label file`, hint);
  const bad = firstBadLabel(labelIdx.data, 10);
  if (bad >= 0) corrupt(fn, labelsPath, `label ${labelIdx.data[bad]} at index ${bad} is not in 0..9`, hint);
  const labels = Int32Array.from(labelIdx.data);
  report(1);

  const imageIdx = decodeIdx(fn, await readDataFile(fn, imagesPath, hint), imagesPath, hint);
  throwIfAborted(fn, o.signal);
  const [n, h, w] = imageIdx.dims;
  if (imageIdx.dims.length !== 3 || h !== 28 || w !== 28) {
    corrupt(fn, imagesPath, `dims [${imageIdx.dims.join(', ')}] are not [n, 28, 28] of an image file`, hint);
  }
  if (n !== labels.length) corrupt(fn, imagesPath, `${n} images but ${labelsPath} has ${labels.length} labels`, hint);

  const subset = selectSubset(fn, 'options.subset', labels, o.subset);
  const set = toImageSet(imageIdx.data, { labels, imageShape: [28, 28, 1], classNames: CLASS_NAMES[dataset], dataset, split: o.split, subset });
  report(2);
  return set;
}
