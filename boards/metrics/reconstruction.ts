// Board reconstruction from high-precision labels (spec board-metrics.md §8): per threshold k = 0..9 a position's
// predicted board is the OR of the labels of its on features; selected by per-square F1, reported as per-class F1.

import { bspWidth } from "../bsp.js";
import { accumulateMicroCounts, f1Score } from "./f1.js";
import type { FeatureLabels } from "./feature-labels.js";
import { THRESHOLD_STEPS, type FeatureLevels } from "./thresholds.js";

const K = THRESHOLD_STEPS;
/** spec §8 step 1: k = 0..9 are candidates; slot 10 holds the adaptive prediction (step 2). */
const RECON_STEPS = K - 1;
const ADAPTIVE_SLOT = RECON_STEPS;
const SLOTS = RECON_STEPS + 1;

export interface ReconstructionResult {
  reconstruction: number;
  reconstruction_k: number;
  /** 10 values, k = 0..9 */
  f1_class_by_k: number[];
  /** 10 values, k = 0..9 */
  f1_square_by_k: number[];
  f1_adaptive: number;
  /** micro counts at reconstruction_k */
  tp: number;
  fp: number;
  fn: number;
}

export class ReconstructionCounts {
  private readonly width: number;
  private readonly squares: number;
  /** [nAlive] bit k set ⇔ (k, a) has ≥ 1 label. */
  private readonly labelledLevels: Int32Array;
  /** [SLOTS·W] the current row's predictions. */
  private readonly pred: Uint8Array;
  /** [SLOTS] whether the current row predicts anything in that slot. */
  private readonly touched = new Uint8Array(SLOTS);
  /** [SLOTS·4] tp, fp, fn, x per slot. */
  private readonly counts = new Float64Array(SLOTS * 4);

  constructor(readonly labels: FeatureLabels) {
    this.width = bspWidth(labels.fn);
    this.squares = labels.fn.rows * labels.fn.rows;
    const { nAlive, offsets } = labels;
    this.labelledLevels = new Int32Array(nAlive);
    for (let k = 0; k < K; k++) {
      for (let a = 0; a < nAlive; a++) {
        if (offsets[k * nAlive + a + 1]! > offsets[k * nAlive + a]!) this.labelledLevels[a] |= 1 << k;
      }
    }
    this.pred = new Uint8Array(SLOTS * this.width);
  }

  /** truth: [levels.rows, W] 0/1 of the labels' function, aligned with the levels' rows. */
  add(levels: FeatureLevels, truth: Uint8Array): void {
    const { width, squares, pred, counts, labelledLevels } = this;
    const { nAlive, offsets: labelOffsets, entries } = this.labels;
    const classes = this.labels.fn.classes;
    const rows = levels.rows;
    if (truth.length !== rows * width) {
      throw new RangeError(`ReconstructionCounts.add: truth for "${this.labels.fn.id}" has ${truth.length} entries, ${rows} rows × ${width} need ${rows * width}`);
    }
    const { offsets, features, levels: featureLevel } = levels;
    for (let e = offsets[0]!; e < offsets[rows]!; e++) {
      if (!(features[e]! >= 0 && features[e]! < nAlive && featureLevel[e]! >= 0 && featureLevel[e]! < K)) {
        throw new RangeError(`ReconstructionCounts.add: on entry ${e} has alive index ${features[e]} (the labels have ${nAlive}) and level ${featureLevel[e]}`);
      }
    }
    const touched = this.touched;
    for (let r = 0; r < rows; r++) {
      pred.fill(0);
      touched.fill(0);
      for (let e = offsets[r]!; e < offsets[r + 1]!; e++) {
        const a = features[e]!;
        const level = featureLevel[e]!;
        // labelled levels at which this feature is on (on at k ⇔ k ≤ k_max)
        const mask = labelledLevels[a]! & ((2 << level) - 1);
        if (mask === 0) continue;
        const lastK = Math.min(level, RECON_STEPS - 1);
        for (let k = 0; k <= lastK; k++) {
          if ((mask & (1 << k)) === 0) continue;
          touched[k] = 1;
          const predBase = k * width;
          const end = labelOffsets[k * nAlive + a + 1]!;
          for (let i = labelOffsets[k * nAlive + a]!; i < end; i++) pred[predBase + entries[i]!] = 1;
        }
        // spec §8 step 2: k̂ = the highest labelled level at which the feature is on (0..10)
        const adaptiveK = 31 - Math.clz32(mask);
        touched[ADAPTIVE_SLOT] = 1;
        const end = labelOffsets[adaptiveK * nAlive + a + 1]!;
        for (let i = labelOffsets[adaptiveK * nAlive + a]!; i < end; i++) pred[ADAPTIVE_SLOT * width + entries[i]!] = 1;
      }
      let rowPositives = -1;
      for (let slot = 0; slot < SLOTS; slot++) {
        if (touched[slot]) {
          accumulateMicroCounts(truth, r * width, pred, slot * width, squares, classes, counts, slot * 4);
        } else {
          // nothing predicted: every true entry is a false negative
          if (rowPositives < 0) {
            rowPositives = 0;
            for (let j = r * width; j < (r + 1) * width; j++) rowPositives += truth[j]!;
          }
          counts[slot * 4 + 2] += rowPositives;
        }
      }
    }
  }

  finish(): ReconstructionResult {
    const counts = this.counts;
    const f1ClassByK: number[] = [];
    const f1SquareByK: number[] = [];
    for (let k = 0; k < RECON_STEPS; k++) {
      const [tp, fp, fn, x] = [counts[k * 4]!, counts[k * 4 + 1]!, counts[k * 4 + 2]!, counts[k * 4 + 3]!];
      f1ClassByK.push(f1Score(tp, fp, fn));
      f1SquareByK.push(f1Score(tp - x, fp, fn));
    }
    // spec §8 step 6: select by per-square F1 (lowest k on ties), report per-class F1
    let bestK = 0;
    for (let k = 1; k < RECON_STEPS; k++) if (f1SquareByK[k]! > f1SquareByK[bestK]!) bestK = k;
    const at = ADAPTIVE_SLOT * 4;
    return {
      reconstruction: f1ClassByK[bestK]!,
      reconstruction_k: bestK,
      f1_class_by_k: f1ClassByK,
      f1_square_by_k: f1SquareByK,
      f1_adaptive: f1Score(counts[at]!, counts[at + 1]!, counts[at + 2]!),
      tp: counts[bestK * 4]!,
      fp: counts[bestK * 4 + 1]!,
      fn: counts[bestK * 4 + 2]!,
    };
  }
}
