// Coverage of a BSP function by a dictionary's features (spec board-metrics.md §6): the best F1 any alive feature
// reaches per entry, averaged over the reference denominator (coverage_ref) and over the entries seen positive.

import type { BspFunction } from "../bsp.js";
import { f1Score } from "./f1.js";
import type { FunctionCounts } from "./feature-stats.js";
import { THRESHOLD_STEPS } from "./thresholds.js";

const K = THRESHOLD_STEPS;

/**
 * spec §6: D_ref = R·R·C′, C′ = C − 1 if the function has a masked class — as the table there gives it: chess
 * piece_masked 768, but Othello mine_masked 192 (blank counted; the reference sets one_hot_mask_idx only for chess).
 */
export function referenceDenominator(fn: BspFunction): number {
  const dropsMaskedClass = fn.game === "chess" && fn.maskedClasses.length > 0;
  return fn.rows * fn.rows * (dropsMaskedClass ? fn.classes - 1 : fn.classes);
}

export interface CoverageResult {
  coverage: number;
  coverage_ref: number;
  coverage_k: number;
  d_ref: number;
  n_positive_entries: number;
  /** 11 values, k = 0..10 */
  coverage_ref_by_k: number[];
  /** 11 values, k = 0..10 (natural denominator |J⁺|) */
  coverage_by_k: number[];
  frac_best_f1_above: { "0.5": number; "0.8": number; "0.9": number };
  /** [W] best[k*, j] */
  best_f1: Float64Array;
}

/** best[k, j] = max over alive features of F1[k, a, j], [K·W] at index k·W + j (0 where no feature exists). */
export function bestF1ByThreshold(counts: FunctionCounts): Float64Array {
  const { nAlive, positive, on, tp } = counts;
  const width = positive.length;
  const best = new Float64Array(K * width);
  for (let a = 0; a < nAlive; a++) {
    for (let j = 0; j < width; j++) {
      const p = positive[j]!;
      if (p === 0) continue; // TP = 0 ⇒ F1 = 0
      const tpBase = (a * width + j) * K;
      for (let k = 0; k < K; k++) {
        const truePositives = tp[tpBase + k]!;
        if (truePositives === 0) continue;
        const f1 = f1Score(truePositives, on[k * nAlive + a]! - truePositives, p - truePositives);
        if (f1 > best[k * width + j]!) best[k * width + j] = f1;
      }
    }
  }
  return best;
}

export function coverageOf(counts: FunctionCounts): CoverageResult {
  const width = counts.positive.length;
  const best = bestF1ByThreshold(counts);
  const dRef = referenceDenominator(counts.fn);
  let nPositive = 0;
  for (let j = 0; j < width; j++) if (counts.positive[j]! > 0) nPositive++;
  const coverageRefByK: number[] = [];
  const coverageByK: number[] = [];
  for (let k = 0; k < K; k++) {
    let sum = 0;
    for (let j = 0; j < width; j++) if (counts.positive[j]! > 0) sum += best[k * width + j]!;
    coverageRefByK.push(dRef > 0 ? sum / dRef : 0);
    coverageByK.push(nPositive > 0 ? sum / nPositive : 0);
  }
  // spec §6: k* = first argmax of coverage_ref(k); coverage(k) is proportional, so it shares k*.
  let bestK = 0;
  for (let k = 1; k < K; k++) if (coverageRefByK[k]! > coverageRefByK[bestK]!) bestK = k;
  const bestAtK = best.slice(bestK * width, (bestK + 1) * width);
  const fractionAbove = (cut: number): number => {
    if (nPositive === 0) return 0;
    let above = 0;
    for (let j = 0; j < width; j++) if (counts.positive[j]! > 0 && bestAtK[j]! > cut) above++;
    return above / nPositive;
  };
  return {
    coverage: coverageByK[bestK]!,
    coverage_ref: coverageRefByK[bestK]!,
    coverage_k: bestK,
    d_ref: dRef,
    n_positive_entries: nPositive,
    coverage_ref_by_k: coverageRefByK,
    coverage_by_k: coverageByK,
    frac_best_f1_above: { "0.5": fractionAbove(0.5), "0.8": fractionAbove(0.8), "0.9": fractionAbove(0.9) },
    best_f1: bestAtK,
  };
}
