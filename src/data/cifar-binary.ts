/**
 * Reader of the official CIFAR-10 binary format (data_batch_1.bin …, test_batch.bin from
 * cifar-10-binary.tar.gz): per image 1 label byte, then 1024 red, 1024 green and 1024 blue bytes,
 * each plane a 32×32 image in row-major order.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { RunOptions } from '../types.js';
import { checkKnownOptions, throwIfAborted } from '../internal/validate.js';
import { corrupt, readDataFile } from './read-file.js';
import { CLASS_NAMES } from './normalization.js';
import { HOW_TO_OBTAIN } from './sources.js';
import { toImageSet } from './image-set.js';
import { checkSubsetOptions, selectSubset } from './subset.js';
import type { SubsetOptions } from './subset.js';
import type { ImageSet } from './types.js';

/** Bytes of one record: label + 3 planes of 32×32. @category Data */
export const CIFAR10_RECORD_BYTES = 1 + 3 * 1024;

const HINT =
  'The official CIFAR-10 binary files (cifar-10-binary.tar.gz) hold 3073-byte records: 1 label byte, 1024 R, 1024 G, 1024 B. ' +
  HOW_TO_OBTAIN.cifar10;

/**
 * Reads a file in the official CIFAR-10 binary format (any number of 3073-byte records; the
 * official batches hold 10,000) into an {@link ImageSet} of 32×32×3 float32 images in [0, 1], NHWC.
 *
 * @example
 * ```ts
 * import { readCifar10Binary } from 'ae-manifold/node';
 * const batch = await readCifar10Binary('cifar-10-batches-bin/test_batch.bin');
 * batch.shape; // [10000, 32, 32, 3]
 * ```
 * @param path the .bin file
 * @param options subset (first n or stratified by class), signal
 * @throws DataUnavailableError when the file is missing, empty, not a whole number of records or has a label outside 0–9
 * @category Data
 */
export async function readCifar10Binary(path: string, options?: { subset?: SubsetOptions } & Pick<RunOptions, 'signal'>): Promise<ImageSet> {
  const fn = 'readCifar10Binary';
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError(fn, 'path', 'a non-empty file path', path);
  checkKnownOptions(fn, options, ['subset', 'signal']);
  const subsetOptions = checkSubsetOptions(fn, 'options.subset', options?.subset);
  throwIfAborted(fn, options?.signal);
  const bytes = await readDataFile(fn, path, HINT);
  throwIfAborted(fn, options?.signal);
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    corrupt(fn, path, `${bytes.length} bytes is not a positive multiple of the ${CIFAR10_RECORD_BYTES}-byte record`, HINT);
  }
  const n = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Int32Array(n);
  const pixels = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR10_RECORD_BYTES;
    const label = bytes[rec]!;
    if (label > 9) corrupt(fn, path, `record ${i} has label ${label}, not 0-9`, HINT);
    labels[i] = label;
    const out = i * 3072;
    for (let p = 0; p < 1024; p++) {
      pixels[out + 3 * p] = bytes[rec + 1 + p]!;
      pixels[out + 3 * p + 1] = bytes[rec + 1025 + p]!;
      pixels[out + 3 * p + 2] = bytes[rec + 2049 + p]!;
    }
  }
  const subset = selectSubset(fn, 'options.subset', labels, subsetOptions);
  return toImageSet(pixels, { labels, imageShape: [32, 32, 3], classNames: CLASS_NAMES.cifar10, dataset: 'cifar10', subset });
}
