/**
 * Turning decoded bytes into an {@link ImageSet}.
 * @module
 */
import type { DatasetName, ImageSet } from './types.js';
import type { SubsetInfo } from './subset.js';

/** What {@link toImageSet} needs besides the pixels. @internal */
export interface ImageSetParts {
  /** Labels of the whole split. */
  labels: Int32Array;
  /** [H, W, C] of one image. */
  imageShape: [number, number, number];
  classNames: readonly string[];
  dataset?: DatasetName;
  split?: 'train' | 'test';
  subset?: SubsetInfo | undefined;
}

/**
 * Converts uint8 NHWC pixels of a whole split to float32 in [0, 1], keeping only the subset's
 * items when one is given.
 * @internal
 */
export function toImageSet(pixels: Uint8Array, parts: ImageSetParts): ImageSet {
  const [h, w, c] = parts.imageShape;
  const size = h * w * c;
  const indices = parts.subset?.indices;
  const n = indices ? indices.length : parts.labels.length;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = indices ? indices[i]! : i;
    labels[i] = parts.labels[src]!;
    const from = src * size;
    const to = i * size;
    for (let j = 0; j < size; j++) images[to + j] = pixels[from + j]! / 255;
  }
  const set: ImageSet = { images, labels, shape: [n, h, w, c], classNames: parts.classNames };
  if (parts.dataset !== undefined) set.dataset = parts.dataset;
  if (parts.split !== undefined) set.split = parts.split;
  if (parts.subset !== undefined) set.subset = parts.subset;
  return set;
}

/** Index of the first label that is not an integer in [0, numClasses), or -1 when all are. @internal */
export function firstBadLabel(labels: ArrayLike<number>, numClasses: number): number {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) return i;
  }
  return -1;
}
