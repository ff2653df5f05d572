/**
 * Seeded image augmentation for training: random crop with zero padding and horizontal flip
 * (torchvision's RandomCrop(padding) + RandomHorizontalFlip), on NHWC float32 batches in place.
 * @module
 */
import type { Rng } from '../internal/rng.js';

/** Options of {@link randomCropFlip}. @internal */
export interface CropFlipOptions {
  /** Zero padding on each side before the random crop back to the original size. */
  padding: number;
  /** Flip horizontally with probability 1/2. */
  flip: boolean;
}

/**
 * Augments `count` images of size h×w×c stored consecutively in `batch`, in place.
 * @internal
 */
export function randomCropFlip(batch: Float32Array, count: number, h: number, w: number, c: number, rng: Rng, o: CropFlipOptions): void {
  const size = h * w * c;
  const tmp = new Float32Array(size);
  for (let n = 0; n < count; n++) {
    const dy = o.padding > 0 ? rng.int(2 * o.padding + 1) - o.padding : 0;
    const dx = o.padding > 0 ? rng.int(2 * o.padding + 1) - o.padding : 0;
    const flip = o.flip && rng.next() < 0.5;
    if (dy === 0 && dx === 0 && !flip) continue;
    const base = n * size;
    tmp.set(batch.subarray(base, base + size));
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const tx = flip ? w - 1 - x : x;
        const sx = tx + dx;
        const out = base + (y * w + x) * c;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          batch.fill(0, out, out + c);
        } else {
          const src = (sy * w + sx) * c;
          for (let k = 0; k < c; k++) batch[out + k] = tmp[src + k]!;
        }
      }
    }
  }
}
