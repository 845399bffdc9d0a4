// F1 as the reference computes it (spec board-metrics.md §5) and the micro counts of board reconstruction (§8).

import { bspWidth, type BspFunction } from "../bsp.js";

/** spec board-metrics.md §5: ε in precision, recall and F1. */
export const F1_EPSILON = 1e-8;

/** spec §5: prec = tp/(tp+fp+ε), rec = tp/(tp+fn+ε). */
export function precisionRecall(tp: number, fp: number, fn: number): { precision: number; recall: number } {
  return { precision: tp / (tp + fp + F1_EPSILON), recall: tp / (tp + fn + F1_EPSILON) };
}

/** spec §5: F1 = 2·prec·rec/(prec+rec+ε), float64. */
export function f1Score(tp: number, fp: number, fn: number): number {
  const precision = tp / (tp + fp + F1_EPSILON);
  const recall = tp / (tp + fn + F1_EPSILON);
  return (2 * precision * recall) / (precision + recall + F1_EPSILON);
}

/**
 * spec §8 steps 3 and 5 over whole tables: truth/pred are [rows, W] 0/1 of `fn`; x = #(row, square) with
 * exactly one TP class and exactly one FP class (0 when fn.classes = 1).
 */
export function microCounts(
  fn: BspFunction,
  truth: Uint8Array,
  pred: Uint8Array,
  rows: number,
): { tp: number; fp: number; fn: number; x: number } {
  const width = bspWidth(fn);
  if (truth.length < rows * width || pred.length < rows * width) {
    throw new RangeError(
      `microCounts(${fn.id}): truth has ${truth.length} and pred ${pred.length} entries, ${rows} rows need ${rows * width}`,
    );
  }
  const counts = new Float64Array(4);
  for (let r = 0; r < rows; r++) {
    accumulateMicroCounts(truth, r * width, pred, r * width, fn.rows * fn.rows, fn.classes, counts, 0);
  }
  return { tp: counts[0]!, fp: counts[1]!, fn: counts[2]!, x: counts[3]! };
}

/**
 * Adds one row's (tp, fp, fn, x) to counts[at..at+3]; the allocation-free kernel of `microCounts`, shared with
 * the streaming reconstruction counts. The row is `squares·classes` entries from each offset, all 0 or 1.
 */
export function accumulateMicroCounts(
  truth: Uint8Array,
  truthOffset: number,
  pred: Uint8Array,
  predOffset: number,
  squares: number,
  classes: number,
  counts: Float64Array,
  at: number,
): void {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let x = 0;
  let t = truthOffset;
  let p = predOffset;
  for (let s = 0; s < squares; s++) {
    let squareTp = 0;
    let squareFp = 0;
    // branch-free: truth and pred hold 0/1 (random boards make branches unpredictable)
    for (let c = 0; c < classes; c++, t++, p++) {
      const isTrue = truth[t]!;
      const isPred = pred[p]!;
      squareTp += isTrue & isPred;
      squareFp += isPred & (isTrue ^ 1);
      fn += isTrue & (isPred ^ 1);
    }
    tp += squareTp;
    fp += squareFp;
    // spec §8 step 5: the reference's per-square rule; impossible for C = 1 (one class can't be both TP and FP).
    if (squareTp === 1 && squareFp === 1) x++;
  }
  counts[at] += tp;
  counts[at + 1] += fp;
  counts[at + 2] += fn;
  counts[at + 3] += x;
}
