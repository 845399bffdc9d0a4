// Random Othello-like truth tables and feature activations for the metrics tests (seeded, deterministic).

import { bspWidth, type BspFunction } from "../../../boards/bsp.js";
import { seededRandom } from "../../compute/random.js";

/**
 * [rows, W] truth of `fn`: board maps with C > 1 get one class per square (masked classes then zeroed, as
 * mine_masked), C = 1 maps a 0/1 per square with `rate`, squares listed in `neverPositive` stay 0.
 */
export function randomTruth(
  fn: BspFunction,
  rows: number,
  seed: number,
  rate = 0.3,
  neverPositive: readonly number[] = [],
): Uint8Array {
  const next = seededRandom(seed);
  const width = bspWidth(fn);
  const squares = fn.rows * fn.rows;
  const truth = new Uint8Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < squares; s++) {
      if (neverPositive.includes(s)) continue;
      if (fn.classes > 1) {
        const cls = Math.floor(next() * fn.classes);
        if (!fn.maskedClasses.includes(cls)) truth[r * width + s * fn.classes + cls] = 1;
      } else if (next() < rate) {
        truth[r * width + s] = 1;
      }
    }
  }
  return truth;
}

/**
 * [rows, nFeatures] activations loosely tied to entries of the truth tables: feature f follows entry
 * `targets[f]` (strong when true, occasionally weak when false), with noise, negative values and a dead feature.
 */
export function correlatedActivations(
  truth: readonly { fn: BspFunction; table: Uint8Array }[],
  rows: number,
  nFeatures: number,
  seed: number,
): Float32Array {
  const next = seededRandom(seed);
  const acts = new Float32Array(rows * nFeatures);
  const targets = Array.from({ length: nFeatures }, () => {
    const { fn, table } = truth[Math.floor(next() * truth.length)]!;
    return { table, width: bspWidth(fn), j: Math.floor(next() * bspWidth(fn)) };
  });
  for (let f = 0; f < nFeatures; f++) {
    if (f === 1) continue; // dead
    const { table, width, j } = targets[f]!;
    const scale = 0.5 + next() * 3;
    for (let r = 0; r < rows; r++) {
      const u = next();
      let value = 0;
      if (table[r * width + j]) value = u < 0.9 ? scale * (0.3 + 0.7 * next()) : 0;
      else if (u < 0.08) value = scale * next() * 0.6;
      else if (u < 0.12) value = -next();
      // a few values exactly at a threshold-like round number
      if (u > 0.995) value = scale * 0.5;
      acts[r * nFeatures + f] = value;
    }
  }
  return acts;
}
