// Feature annotations (spec board-metrics.md §10): per alive feature its best BSP entries by F1 and all its
// high-precision labels — the names circuits and SHIFT show next to a feature.

import { bspNames, bspWidth } from "../bsp.js";
import { f1Score, precisionRecall } from "./f1.js";
import type { FeatureLabels } from "./feature-labels.js";
import type { FunctionCounts } from "./feature-stats.js";
import { THRESHOLD_STEPS, type FeatureThresholds } from "./thresholds.js";

const K = THRESHOLD_STEPS;

export interface FeatureAnnotationEntry {
  bsp: string;
  fn: string;
  k: number;
  f1: number;
  precision: number;
  recall: number;
  tp: number;
  on: number;
}

export interface FeatureAnnotation {
  /** feature id (not alive index) */
  feature: number;
  /** ≤ top, by F1 desc, each BSP name once (mine/mine_masked share names: the better is kept); F1 > 0 only */
  best: FeatureAnnotationEntry[];
  /** all HPC labels, deduplicated by (bsp, k), in function order, then k, then entry */
  labels: { bsp: string; fn: string; k: number }[];
}

/** Inserts a candidate into `best` (sorted by F1 desc, ≤ top, names unique); earlier candidates win ties. */
function offer(best: FeatureAnnotationEntry[], candidate: FeatureAnnotationEntry, top: number): void {
  const same = best.findIndex((entry) => entry.bsp === candidate.bsp);
  if (same >= 0) {
    if (candidate.f1 <= best[same]!.f1) return;
    best.splice(same, 1);
  } else if (best.length === top && candidate.f1 <= best[top - 1]!.f1) {
    return;
  }
  let at = best.length;
  while (at > 0 && best[at - 1]!.f1 < candidate.f1) at--;
  best.splice(at, 0, candidate);
  if (best.length > top) best.pop();
}

export function featureAnnotations(
  thresholds: FeatureThresholds,
  counts: readonly FunctionCounts[],
  labels: readonly FeatureLabels[],
  top = 5,
): FeatureAnnotation[] {
  const nAlive = thresholds.alive.length;
  for (const item of [...counts, ...labels]) {
    if (item.nAlive !== nAlive) {
      throw new RangeError(`featureAnnotations: counts/labels of "${item.fn.id}" have nAlive ${item.nAlive}, the thresholds ${nAlive}`);
    }
  }
  const countNames = counts.map((c) => bspNames(c.fn));
  const labelNames = labels.map((l) => bspNames(l.fn));
  const annotations: FeatureAnnotation[] = [];
  for (let a = 0; a < nAlive; a++) {
    const best: FeatureAnnotationEntry[] = [];
    if (top > 0) {
      counts.forEach(({ fn, positive, on, tp }, i) => {
        const width = bspWidth(fn);
        for (let j = 0; j < width; j++) {
          // the entry's best k (lowest on ties, spec §10)
          let bestF1 = 0;
          let bestK = -1;
          const tpBase = (a * width + j) * K;
          for (let k = 0; k < K; k++) {
            const truePositives = tp[tpBase + k]!;
            if (truePositives === 0) continue;
            const f1 = f1Score(truePositives, on[k * nAlive + a]! - truePositives, positive[j]! - truePositives);
            if (f1 > bestF1) {
              bestF1 = f1;
              bestK = k;
            }
          }
          if (bestK < 0) continue;
          if (best.length === top && bestF1 <= best[top - 1]!.f1) continue;
          const truePositives = tp[tpBase + bestK]!;
          const onCount = on[bestK * nAlive + a]!;
          const { precision, recall } = precisionRecall(truePositives, onCount - truePositives, positive[j]! - truePositives);
          offer(best, { bsp: countNames[i]![j]!, fn: fn.id, k: bestK, f1: bestF1, precision, recall, tp: truePositives, on: onCount }, top);
        }
      });
    }
    const featureLabels: { bsp: string; fn: string; k: number }[] = [];
    const seen = new Set<string>();
    labels.forEach(({ fn, offsets, entries }, i) => {
      for (let k = 0; k < K; k++) {
        for (let e = offsets[k * nAlive + a]!; e < offsets[k * nAlive + a + 1]!; e++) {
          const bsp = labelNames[i]![entries[e]!]!;
          const key = `${k}\u0000${bsp}`;
          if (seen.has(key)) continue;
          seen.add(key);
          featureLabels.push({ bsp, fn: fn.id, k });
        }
      }
    });
    annotations.push({ feature: thresholds.alive[a]!, best, labels: featureLabels });
  }
  return annotations;
}
