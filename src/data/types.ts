/**
 * Image data sets as the library passes them around.
 * @module
 */

/** Names of the data sets the library knows. @category Data */
export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10';

/**
 * A set of images with labels. Pixels are float32 in [0, 1], NHWC, row-major.
 * @category Data
 */
export interface ImageSet {
  /** N·H·W·C pixel values in [0, 1]. */
  images: Float32Array;
  /** N integer class labels. */
  labels: Int32Array;
  /** [N, H, W, C]. */
  shape: [number, number, number, number];
  /** Class names, index = label. */
  classNames: readonly string[];
  /** The data set the images come from, when a loader made the set. */
  dataset?: DatasetName;
  /** The split the images come from, when a loader made the set. */
  split?: 'train' | 'test';
  /**
   * Present when only part of the split was taken: how, how many, the seed used (stratified
   * sampling) and the indices taken into the full split, ascending.
   */
  subset?: { mode: 'first' | 'stratified'; count: number; seed?: number; indices: Int32Array };
}
