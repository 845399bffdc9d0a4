// Alive features, maximum activations and the eleven on-thresholds (spec board-metrics.md §3, §4), and the sparse
// per-position on-levels every later count is built from (§5).

/** spec §4: t_k = k/10 for k = 0..10. */
export const THRESHOLD_STEPS = 11;
const TOP_LEVEL = THRESHOLD_STEPS - 1;

export interface FeatureThresholds {
  nFeatures: number;
  /** Ascending ids of alive features (a ≠ 0 somewhere in the firing sample). */
  alive: Int32Array;
  /** [nFeatures] → alive index, −1 if dead. */
  aliveIndex: Int32Array;
  /** [nFeatures] |max_n a_f(n)| (float32, as the reference), 0 for dead features. */
  maxActivation: Float32Array;
}

/** Accumulates alive/max over the firing sample (spec §3) from dense batches [rows, nFeatures]. */
export class FiringSample {
  private readonly alive: Uint8Array;
  private readonly max: Float32Array;
  private finished = false;

  constructor(readonly nFeatures: number) {
    if (!Number.isInteger(nFeatures) || nFeatures < 0) {
      throw new RangeError(`FiringSample: nFeatures must be a non-negative integer, got ${nFeatures}`);
    }
    this.alive = new Uint8Array(nFeatures);
    this.max = new Float32Array(nFeatures).fill(-Infinity);
  }

  add(acts: Float32Array, rows: number): void {
    if (this.finished) throw new Error("FiringSample.add: the sample is already finished");
    const nFeatures = this.nFeatures;
    if (acts.length < rows * nFeatures) {
      throw new RangeError(`FiringSample.add: acts has ${acts.length} values, ${rows} rows × ${nFeatures} features need ${rows * nFeatures}`);
    }
    const alive = this.alive;
    const max = this.max;
    for (let r = 0; r < rows; r++) {
      const base = r * nFeatures;
      for (let f = 0; f < nFeatures; f++) {
        const value = acts[base + f]!;
        if (value !== 0) alive[f] = 1;
        if (value > max[f]!) max[f] = value;
      }
    }
  }

  finish(): FeatureThresholds {
    this.finished = true;
    const nFeatures = this.nFeatures;
    const aliveIndex = new Int32Array(nFeatures).fill(-1);
    const maxActivation = new Float32Array(nFeatures);
    const aliveIds: number[] = [];
    for (let f = 0; f < nFeatures; f++) {
      if (!this.alive[f]) continue;
      aliveIndex[f] = aliveIds.length;
      aliveIds.push(f);
      // spec §3: |max| only matters for MLP neurons whose maximum is negative (they can then never be on).
      const max = this.max[f]!;
      maxActivation[f] = max === -Infinity ? 0 : Math.abs(max);
    }
    return { nFeatures, alive: Int32Array.from(aliveIds), aliveIndex, maxActivation };
  }
}

/** τ_{k,f} = fround(fround(k·0.1)·max_f) (torch float32 arange(0,1.1,0.1)·max); on ⇔ a > τ (strict, spec §4). */
export function thresholdValue(k: number, maxActivation: number): number {
  return Math.fround(Math.fround(k * 0.1) * maxActivation);
}

/** [nAlive·11] τ_{k,a} at index a·11 + k. */
export function thresholdTable(thresholds: FeatureThresholds): Float32Array {
  const nAlive = thresholds.alive.length;
  const table = new Float32Array(nAlive * THRESHOLD_STEPS);
  for (let a = 0; a < nAlive; a++) {
    const max = thresholds.maxActivation[thresholds.alive[a]!]!;
    for (let k = 0; k < THRESHOLD_STEPS; k++) table[a * THRESHOLD_STEPS + k] = thresholdValue(k, max);
  }
  return table;
}

/**
 * On-levels of alive features per row, CSR; level = k_max = largest k with a > τ_k (spec §5). Entries with
 * a ≤ τ_0 are omitted, so a row lists only the features that are on at k = 0.
 */
export interface FeatureLevels {
  rows: number;
  /** [rows + 1] */
  offsets: Int32Array;
  /** Alive index of each entry. */
  features: Int32Array;
  /** 0..10 */
  levels: Int8Array;
}

/** Sparse on-levels of a dense batch acts [rows, nFeatures] (spec §5: only on features are kept). */
export function featureLevels(acts: Float32Array, rows: number, thresholds: FeatureThresholds): FeatureLevels {
  const nFeatures = thresholds.nFeatures;
  if (acts.length < rows * nFeatures) {
    throw new RangeError(`featureLevels: acts has ${acts.length} values, ${rows} rows × ${nFeatures} features need ${rows * nFeatures}`);
  }
  const alive = thresholds.alive;
  const nAlive = alive.length;
  const taus = thresholdTable(thresholds);
  const offsets = new Int32Array(rows + 1);
  let features = new Int32Array(Math.max(16, rows * 8));
  let levels = new Int8Array(features.length);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * nFeatures;
    for (let a = 0; a < nAlive; a++) {
      const value = acts[base + alive[a]!]!;
      const tauBase = a * THRESHOLD_STEPS;
      if (!(value > taus[tauBase]!)) continue;
      let level = 0;
      while (level < TOP_LEVEL && value > taus[tauBase + level + 1]!) level++;
      if (count === features.length) {
        const grownFeatures = new Int32Array(count * 2);
        grownFeatures.set(features);
        features = grownFeatures;
        const grownLevels = new Int8Array(count * 2);
        grownLevels.set(levels);
        levels = grownLevels;
      }
      features[count] = a;
      levels[count] = level;
      count++;
    }
    offsets[r + 1] = count;
  }
  return { rows, offsets, features: features.slice(0, count), levels: levels.slice(0, count) };
}
