// High-precision feature labels (spec board-metrics.md §7): (k, f, j) is labelled when feature f at threshold k
// fires on entry j at least 10 times with precision ≥ 0.95 on the labelling set; they drive board reconstruction.

import type { BspFunction } from "../bsp.js";
import type { FunctionCounts } from "./feature-stats.js";
import { THRESHOLD_STEPS } from "./thresholds.js";

const K = THRESHOLD_STEPS;

export interface FeatureLabels {
  fn: BspFunction;
  nAlive: number;
  /** labelled entries of (k, a): entries.subarray(offsets[k·nAlive + a], offsets[k·nAlive + a + 1]), ascending j */
  offsets: Int32Array;
  entries: Int32Array;
  /** 11 values each: labelled (f, j) pairs and features with ≥ 1 label, per k */
  n_hpc_by_k: number[];
  n_hpc_features_by_k: number[];
}

/** spec §7: label[k,a,j] ⇔ TP ≥ minTp and TP/on ≥ minPrecision (on > 0, no ε). */
export function highPrecisionLabels(counts: FunctionCounts, minTp = 10, minPrecision = 0.95): FeatureLabels {
  const { nAlive, on, tp } = counts;
  const width = counts.positive.length;
  const offsets = new Int32Array(K * nAlive + 1);
  const entries: number[] = [];
  const nHpcByK: number[] = [];
  const nHpcFeaturesByK: number[] = [];
  for (let k = 0; k < K; k++) {
    let labelled = 0;
    let labelledFeatures = 0;
    for (let a = 0; a < nAlive; a++) {
      const onCount = on[k * nAlive + a]!;
      const before = entries.length;
      if (onCount > 0) {
        for (let j = 0; j < width; j++) {
          const truePositives = tp[(a * width + j) * K + k]!;
          if (truePositives >= minTp && truePositives / onCount >= minPrecision) entries.push(j);
        }
      }
      offsets[k * nAlive + a + 1] = entries.length;
      labelled += entries.length - before;
      if (entries.length > before) labelledFeatures++;
    }
    nHpcByK.push(labelled);
    nHpcFeaturesByK.push(labelledFeatures);
  }
  return {
    fn: counts.fn,
    nAlive,
    offsets,
    entries: Int32Array.from(entries),
    n_hpc_by_k: nHpcByK,
    n_hpc_features_by_k: nHpcFeaturesByK,
  };
}
