// Per-feature, per-entry counts on the labelling set (spec board-metrics.md §5): P[j], on[k,f], TP[k,f,j], built
// sparsely — each position adds 1 at its on-features' k_max and the counts are suffix-summed over k at the end.

import { bspWidth, type BspFunction } from "../bsp.js";
import { f1Score, precisionRecall } from "./f1.js";
import { THRESHOLD_STEPS, type FeatureLevels } from "./thresholds.js";

const K = THRESHOLD_STEPS;
/** Batches below this many positions are gathered before counting (cache reuse of each feature's TP block). */
const MIN_BATCH_ROWS = 2048;

export interface FunctionCounts {
  fn: BspFunction;
  nAlive: number;
  positions: number;
  /** [W] P[j] */
  positive: Int32Array;
  /** [K·nAlive] on[k, a] at index k·nAlive + a */
  on: Int32Array;
  /** [nAlive·W·K] TP[k, a, j] at index (a·W + j)·K + k (already suffix-summed over k) */
  tp: Int32Array;
}

export class LabellingCounts {
  private readonly widths: number[];
  private readonly positive: Int32Array[];
  private readonly tp: Int32Array[];
  /** on at k_max only (before the suffix sum); the same for every function. */
  private readonly onAtLevel: Int32Array;
  private positions = 0;
  private finished = false;
  private pending: { levels: FeatureLevels; tables: Uint8Array[] }[] = [];
  private pendingRows = 0;

  constructor(
    readonly fns: readonly BspFunction[],
    readonly nAlive: number,
  ) {
    if (!Number.isInteger(nAlive) || nAlive < 0) {
      throw new RangeError(`LabellingCounts: nAlive must be a non-negative integer, got ${nAlive}`);
    }
    const ids = new Set<string>();
    for (const fn of fns) {
      if (ids.has(fn.id)) throw new RangeError(`LabellingCounts: function "${fn.id}" is given twice`);
      ids.add(fn.id);
    }
    this.widths = fns.map((fn) => bspWidth(fn));
    this.positive = this.widths.map((width) => new Int32Array(width));
    this.tp = this.widths.map((width) => new Int32Array(nAlive * width * K));
    this.onAtLevel = new Int32Array(K * nAlive);
  }

  /** truth: fn.id → [levels.rows, W] 0/1 (scored positions only, aligned with the levels' rows). */
  add(levels: FeatureLevels, truth: ReadonlyMap<string, Uint8Array>): void {
    if (this.finished) throw new Error("LabellingCounts.add: the counts are already finished");
    const rows = levels.rows;
    const tables: Uint8Array[] = this.fns.map((fn, i) => {
      const table = truth.get(fn.id);
      if (!table) throw new RangeError(`LabellingCounts.add: no truth table for function "${fn.id}"`);
      if (table.length !== rows * this.widths[i]!) {
        throw new RangeError(`LabellingCounts.add: truth for "${fn.id}" has ${table.length} entries, ${rows} rows × ${this.widths[i]} need ${rows * this.widths[i]!}`);
      }
      return table;
    });
    const { offsets, features, levels: featureLevel } = levels;
    if (offsets.length !== rows + 1) throw new RangeError(`LabellingCounts.add: levels.offsets has ${offsets.length} entries for ${rows} rows`);
    for (let e = offsets[0]!; e < offsets[rows]!; e++) {
      const a = features[e]!;
      const level = featureLevel[e]!;
      if (!(a >= 0 && a < this.nAlive && level >= 0 && level < K)) {
        throw new RangeError(`LabellingCounts.add: on entry ${e} has alive index ${a} (nAlive ${this.nAlive}) and level ${level} (0..${K - 1})`);
      }
    }
    this.positions += rows;
    if (this.pendingRows === 0 && rows >= MIN_BATCH_ROWS) {
      this.accumulate(levels, tables);
      return;
    }
    // Small batches are gathered first: each feature's TP block is fetched once per batch, so tiny ones are slow.
    const start = offsets[0]!;
    const end = offsets[rows]!;
    this.pending.push({
      levels: { rows, offsets: offsets.map((o) => o - start), features: features.slice(start, end), levels: featureLevel.slice(start, end) },
      tables: tables.map((table) => table.slice()),
    });
    this.pendingRows += rows;
    if (this.pendingRows >= MIN_BATCH_ROWS) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batches = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    if (batches.length === 1) {
      this.accumulate(batches[0]!.levels, batches[0]!.tables);
      return;
    }
    let rows = 0;
    let nOn = 0;
    for (const batch of batches) {
      rows += batch.levels.rows;
      nOn += batch.levels.features.length;
    }
    const offsets = new Int32Array(rows + 1);
    const features = new Int32Array(nOn);
    const levels = new Int8Array(nOn);
    const tables = this.widths.map((width) => new Uint8Array(rows * width));
    let row = 0;
    let on = 0;
    for (const batch of batches) {
      for (let r = 1; r <= batch.levels.rows; r++) offsets[row + r] = on + batch.levels.offsets[r]!;
      features.set(batch.levels.features, on);
      levels.set(batch.levels.levels, on);
      batch.tables.forEach((table, i) => tables[i]!.set(table, row * this.widths[i]!));
      row += batch.levels.rows;
      on += batch.levels.features.length;
    }
    this.accumulate({ rows, offsets, features, levels }, tables);
  }

  /** Adds a validated batch: on counts at k_max and TP at (feature, k_max, positive entry). */
  private accumulate(levels: FeatureLevels, tables: readonly Uint8Array[]): void {
    const rows = levels.rows;
    const nAlive = this.nAlive;
    const onAtLevel = this.onAtLevel;
    const { offsets, features, levels: featureLevel } = levels;
    // Feature-major order of the batch's on entries (counting sort), so each feature's TP block of W·K counts
    // stays in cache while all its positions are added — row order would miss the cache on nearly every increment.
    const featureStart = new Int32Array(nAlive + 1);
    for (let e = offsets[0]!; e < offsets[rows]!; e++) featureStart[features[e]! + 1]++;
    for (let a = 0; a < nAlive; a++) featureStart[a + 1] += featureStart[a]!;
    const fill = featureStart.slice(0, nAlive);
    const nOn = featureStart[nAlive]!;
    const onRow = new Int32Array(nOn);
    const onLevel = new Int8Array(nOn);
    for (let r = 0; r < rows; r++) {
      for (let e = offsets[r]!; e < offsets[r + 1]!; e++) {
        const a = features[e]!;
        const at = fill[a]!++;
        onRow[at] = r;
        onLevel[at] = featureLevel[e]!;
        onAtLevel[featureLevel[e]! * nAlive + a]++;
      }
    }
    const positiveOffsets = new Int32Array(rows + 1);
    for (let i = 0; i < tables.length; i++) {
      const width = this.widths[i]!;
      const table = tables[i]!;
      const positive = this.positive[i]!;
      // spec §5: the positive entries of g at each position, collected once (as j·K) and visited per on feature.
      let nPositive = 0;
      for (let n = 0; n < rows * width; n++) if (table[n] !== 0) nPositive++;
      const positiveK = new Int32Array(nPositive);
      nPositive = 0;
      for (let r = 0; r < rows; r++) {
        const rowBase = r * width;
        for (let j = 0; j < width; j++) {
          if (table[rowBase + j] !== 0) {
            positive[j]++;
            positiveK[nPositive++] = j * K;
          }
        }
        positiveOffsets[r + 1] = nPositive;
      }
      if (nPositive === 0) continue;
      const tp = this.tp[i]!;
      const featureStride = width * K;
      for (let a = 0; a < nAlive; a++) {
        const featureBase = a * featureStride;
        for (let e = featureStart[a]!; e < featureStart[a + 1]!; e++) {
          const base = featureBase + onLevel[e]!;
          const r = onRow[e]!;
          const end = positiveOffsets[r + 1]!;
          for (let p = positiveOffsets[r]!; p < end; p++) tp[base + positiveK[p]!]++;
        }
      }
    }
  }

  /** Suffix-sums the k_max counts over k (on at k ⇔ k ≤ k_max) and returns one FunctionCounts per function. */
  finish(): FunctionCounts[] {
    if (this.finished) throw new Error("LabellingCounts.finish: called twice");
    this.flush();
    this.finished = true;
    const nAlive = this.nAlive;
    const on = this.onAtLevel;
    for (let k = K - 2; k >= 0; k--) {
      for (let a = 0; a < nAlive; a++) on[k * nAlive + a] += on[(k + 1) * nAlive + a]!;
    }
    return this.fns.map((fn, i) => {
      const tp = this.tp[i]!;
      for (let base = 0; base < tp.length; base += K) {
        for (let k = K - 2; k >= 0; k--) tp[base + k] += tp[base + k + 1]!;
      }
      return { fn, nAlive, positions: this.positions, positive: this.positive[i]!, on: on.slice(), tp };
    });
  }
}

/** spec §5 statistics of alive feature a (alive index) for entry j at threshold k. */
export function featureF1(
  counts: FunctionCounts,
  k: number,
  a: number,
  j: number,
): { f1: number; precision: number; recall: number; tp: number; on: number } {
  const width = counts.positive.length;
  if (k < 0 || k >= K || a < 0 || a >= counts.nAlive || j < 0 || j >= width) {
    throw new RangeError(`featureF1(${counts.fn.id}): (k=${k}, a=${a}, j=${j}) is outside K=${K}, nAlive=${counts.nAlive}, W=${width}`);
  }
  const tp = counts.tp[(a * width + j) * K + k]!;
  const on = counts.on[k * counts.nAlive + a]!;
  const fp = on - tp;
  const fn = counts.positive[j]! - tp;
  return { f1: f1Score(tp, fp, fn), ...precisionRecall(tp, fp, fn), tp, on };
}
