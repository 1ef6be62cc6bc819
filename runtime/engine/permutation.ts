// A seeded permutation of 0..n−1 (Fisher–Yates over a Philox stream): the order of an epoch's samples and
// the class order of a task sequence are both drawn this way, each from its own stream.

import { augmentRandom } from "../image/augment.ts";

/** 0..n−1 shuffled by the stream (seed, epoch, stream); the same arguments give the same order. */
export function seededPermutation(n: number, seed: number, epoch: number, stream: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = augmentRandom(seed, epoch, stream);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
