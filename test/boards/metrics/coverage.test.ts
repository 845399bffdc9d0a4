import { describe, expect, it } from "vitest";
import { bspWidth, type BspFunction } from "../../../boards/bsp.js";
import { chessPiece, chessPieceMasked, chessPieceMaskedBlank } from "../../../boards/chess/bsp.js";
import { chessStrategyFunction } from "../../../boards/chess/strategy.js";
import { coverageOf, referenceDenominator } from "../../../boards/metrics/coverage.js";
import { highPrecisionLabels } from "../../../boards/metrics/feature-labels.js";
import { featureF1, LabellingCounts, type FunctionCounts } from "../../../boards/metrics/feature-stats.js";
import { ReconstructionCounts } from "../../../boards/metrics/reconstruction.js";
import { featureLevels, FiringSample, type FeatureThresholds } from "../../../boards/metrics/thresholds.js";
import { othelloLegal, othelloMine, othelloMineMasked } from "../../../boards/othello/bsp.js";
import { correlatedActivations, randomTruth } from "./synthetic-boards.js";

/** Firing sample = the given activations; counts of every function over all rows. */
function label(acts: Float32Array, rows: number, nFeatures: number, truth: Map<BspFunction, Uint8Array>) {
  const sample = new FiringSample(nFeatures);
  sample.add(acts, rows);
  const thresholds = sample.finish();
  const counts = new LabellingCounts([...truth.keys()], thresholds.alive.length);
  counts.add(featureLevels(acts, rows, thresholds), new Map([...truth].map(([fn, table]) => [fn.id, table])));
  return { thresholds, counts: counts.finish() };
}

function reconstruct(counts: FunctionCounts, thresholds: FeatureThresholds, acts: Float32Array, rows: number, truth: Uint8Array) {
  const reconstruction = new ReconstructionCounts(highPrecisionLabels(counts));
  reconstruction.add(featureLevels(acts, rows, thresholds), truth);
  return reconstruction.finish();
}

describe("referenceDenominator (spec board-metrics.md §6)", () => {
  it("follows the spec's table: chess drops its masked class, Othello mine_masked keeps 192", () => {
    expect(referenceDenominator(chessPieceMasked)).toBe(768);
    expect(referenceDenominator(chessPieceMaskedBlank)).toBe(768);
    expect(referenceDenominator(chessPiece)).toBe(832);
    expect(referenceDenominator(othelloMineMasked)).toBe(192);
    expect(referenceDenominator(othelloMine)).toBe(192);
    expect(referenceDenominator(othelloLegal)).toBe(64);
    expect(referenceDenominator(chessStrategyFunction("check"))).toBe(1);
  });
});

describe("a 3-feature × 2-BSP toy worked by hand (spec §5–8)", () => {
  // One square, 3 classes: entries j0, j1 and j2 (never true, so |J⁺| = 2 but D_ref = 3).
  const toy: BspFunction = { id: "toy", game: "othello", rows: 1, classes: 3, maskedClasses: [], entryName: (_row, _col, cls) => `toy.c${cls}` };
  // Five base positions, each repeated 10 times (so TP reaches the HPC minimum of 10; F1 is unchanged).
  //            n0   n1    n2   n3   n4
  const base = [
    [1.0, 0.55, 0, 0, 0], // feature 0 → alive index 0, max 1: levels n0 9 (τ_10 = 1), n1 5 (τ_5 = 0.5 < 0.55 < τ_6 ≈ 0.6)
    [0, 0, 0, 0, 0], // feature 1: dead
    [0, 0, 0.9, 0.3, 0.6], // feature 2 → alive 1, max 0.9: n2 9, n3 3 (0.27 < 0.3 < 0.36), n4 6 (0.54 < 0.6 < 0.63)
    [0.5, 0.5, 0.5, 0.5, 0.5], // feature 3 → alive 2, constant 0.5 = max: level 9 everywhere
  ];
  const baseTruth = [
    [1, 0, 0], // n0: j0
    [1, 0, 0], // n1: j0
    [0, 1, 0], // n2: j1
    [0, 0, 0], // n3: nothing
    [0, 1, 0], // n4: j1
  ];
  const repeat = 10;
  const rows = 5 * repeat;
  const acts = new Float32Array(rows * 4);
  const truth = new Uint8Array(rows * 3);
  for (let n = 0; n < rows; n++) {
    const b = n % 5;
    for (let f = 0; f < 4; f++) acts[n * 4 + f] = base[f]![b]!;
    for (let j = 0; j < 3; j++) truth[n * 3 + j] = baseTruth[b]![j]!;
  }
  const { thresholds, counts } = label(acts, rows, 4, new Map([[toy, truth]]));
  const toyCounts = counts[0]!;

  it("counts TP/on/P and F1 per (k, feature, entry)", () => {
    expect(Array.from(thresholds.alive)).toEqual([0, 2, 3]);
    expect(Array.from(toyCounts.positive)).toEqual([20, 20, 0]);
    // on[k, a] ×10: f0 {n0,n1} for k ≤ 5, {n0} for 6..9; f2 {n2,n3,n4} k ≤ 3, {n2,n4} 4..6, {n2} 7..9; f3 all k ≤ 9
    const on = (a: number) => Array.from({ length: 11 }, (_, k) => toyCounts.on[k * 3 + a]);
    expect(on(0)).toEqual([20, 20, 20, 20, 20, 20, 10, 10, 10, 10, 0]);
    expect(on(1)).toEqual([30, 30, 30, 30, 20, 20, 20, 10, 10, 10, 0]);
    expect(on(2)).toEqual([50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 0]);
    const f1 = (k: number, a: number, j: number) => featureF1(toyCounts, k, a, j).f1;
    // f0 on j0: k ≤ 5 TP 20 of on 20, P 20 → 1; k 6..9 TP 10, on 10 → prec 1, rec 1/2 → 2/3; k 10 → 0
    expect(f1(0, 0, 0)).toBeCloseTo(1, 7);
    expect(f1(5, 0, 0)).toBeCloseTo(1, 7);
    expect(f1(6, 0, 0)).toBeCloseTo(2 / 3, 7);
    expect(f1(10, 0, 0)).toBe(0);
    expect(f1(0, 0, 1)).toBe(0);
    // f2 on j1: k ≤ 3 TP 20, on 30 → prec 2/3, rec 1 → 0.8; k 4..6 → 1; k 7..9 TP 10 → 2/3
    expect(f1(3, 1, 1)).toBeCloseTo(0.8, 7);
    expect(f1(4, 1, 1)).toBeCloseTo(1, 7);
    expect(f1(7, 1, 1)).toBeCloseTo(2 / 3, 7);
    // constant f3: prec 0.4 (base rate), rec 1 → 2p/(1+p) = 4/7 on both j0 and j1
    expect(f1(9, 2, 0)).toBeCloseTo(4 / 7, 7);
    expect(f1(0, 2, 1)).toBeCloseTo(4 / 7, 7);
    expect(featureF1(toyCounts, 9, 2, 1)).toMatchObject({ tp: 20, on: 50 });
  });

  it("gives best F1, coverage and coverage_ref by k", () => {
    // best[k, j0]: 1 (k ≤ 5), 2/3 (6..9, f0 beats f3's 4/7), 0 (10)
    // best[k, j1]: 0.8 (k ≤ 3), 1 (4..6), 2/3 (7..9), 0 (10); best[k, j2] = 0
    // coverage_ref(k) = (best j0 + best j1)/3: 0.6 ×4, 2/3 ×2, 5/9, 4/9 ×3, 0 → k* = 4 (first max)
    const result = coverageOf(toyCounts);
    const expectedRef = [0.6, 0.6, 0.6, 0.6, 2 / 3, 2 / 3, 5 / 9, 4 / 9, 4 / 9, 4 / 9, 0];
    result.coverage_ref_by_k.forEach((value, k) => expect(value).toBeCloseTo(expectedRef[k]!, 7));
    result.coverage_by_k.forEach((value, k) => expect(value).toBeCloseTo((expectedRef[k]! * 3) / 2, 7));
    expect(result.coverage_k).toBe(4);
    expect(result.coverage_ref).toBeCloseTo(2 / 3, 7);
    expect(result.coverage).toBeCloseTo(1, 7);
    expect(result.d_ref).toBe(3);
    expect(result.n_positive_entries).toBe(2);
    expect(Array.from(result.best_f1).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([1, 1, 0]);
    expect(result.frac_best_f1_above).toEqual({ "0.5": 1, "0.8": 1, "0.9": 1 });
  });

  it("labels the high-precision (k, feature, entry) triples", () => {
    // TP ≥ 10 and TP/on ≥ 0.95: f0–j0 at k 0..9 (20/20, then 10/10), f2–j1 at k 4..9 (20/20, 10/10; 20/30 below 4)
    const labels = highPrecisionLabels(toyCounts);
    expect(labels.n_hpc_by_k).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0]);
    expect(labels.n_hpc_features_by_k).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0]);
    const entriesOf = (k: number, a: number) => Array.from(labels.entries.subarray(labels.offsets[k * 3 + a], labels.offsets[k * 3 + a + 1]));
    expect(entriesOf(0, 0)).toEqual([0]);
    expect(entriesOf(9, 0)).toEqual([0]);
    expect(entriesOf(3, 1)).toEqual([]);
    expect(entriesOf(4, 1)).toEqual([1]);
    expect(entriesOf(5, 2)).toEqual([]);
    // with TP ≥ 21 required only... nothing at all
    expect(highPrecisionLabels(toyCounts, 21).entries.length).toBe(0);
  });

  it("reconstructs the board by hand-worked k", () => {
    // on the same 50 rows: k ≤ 3 predicts j0 at n0, n1 only → TP 20, FP 0, FN 20 → 2/3; k 4, 5 → perfect;
    // k 6: f0 off at n1 → TP 30, FN 10 → 6/7; k 7..9: f0 only n0, f2 only n2 → TP 20, FN 20 → 2/3. X = 0.
    // adaptive: each (n, f) uses its highest labelled on-level: f0 at n0 (9), n1 (5); f2 at n2 (9), n4 (6) → perfect
    const result = reconstruct(toyCounts, thresholds, acts, rows, truth);
    const expected = [2 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 6 / 7, 2 / 3, 2 / 3, 2 / 3];
    result.f1_class_by_k.forEach((value, k) => expect(value).toBeCloseTo(expected[k]!, 7));
    expect(result.f1_square_by_k).toEqual(result.f1_class_by_k);
    expect(result.reconstruction_k).toBe(4);
    expect(result.reconstruction).toBeCloseTo(1, 7);
    expect([result.tp, result.fp, result.fn]).toEqual([40, 0, 0]);
    expect(result.f1_adaptive).toBeCloseTo(1, 7);
  });
});

describe("oracle and sanity features (spec §9 oracle, §12)", () => {
  it("an oracle dictionary covers every positive entry and reconstructs perfectly", () => {
    // one feature per entry j with a = g_j(n); legal's four centre squares are never positive
    const centre = [27, 28, 35, 36];
    for (const [fn, neverPositive] of [[othelloMineMasked, []], [othelloLegal, centre]] as const) {
      const width = bspWidth(fn);
      const labelRows = 400;
      const labelTruth = randomTruth(fn, labelRows, 11, 0.2, neverPositive);
      const reconRows = 300;
      const reconTruth = randomTruth(fn, reconRows, 12, 0.2, neverPositive);
      const oracle = (table: Uint8Array) => Float32Array.from(table);
      const { thresholds, counts } = label(oracle(labelTruth), labelRows, width, new Map([[fn, labelTruth]]));
      const result = coverageOf(counts[0]!);
      const positiveEntries = fn === othelloLegal ? 60 : 128;
      expect(result.n_positive_entries).toBe(positiveEntries);
      expect(result.coverage).toBeCloseTo(1, 7);
      expect(result.coverage_ref).toBeCloseTo(positiveEntries / referenceDenominator(fn), 7);
      expect(result.coverage_k).toBe(0);
      expect(result.coverage_ref_by_k[10]).toBe(0);
      for (let k = 0; k < 10; k++) expect(result.coverage_by_k[k]).toBeCloseTo(1, 7);
      const reconstruction = reconstruct(counts[0]!, thresholds, oracle(reconTruth), reconRows, reconTruth);
      expect(reconstruction.reconstruction).toBeCloseTo(1, 7);
      expect(reconstruction.fp).toBe(0);
      expect(reconstruction.fn).toBe(0);
      expect(reconstruction.f1_adaptive).toBeCloseTo(1, 7);
    }
  });

  it("a feature equal to a BSP entry scores F1 1 for k ≤ 9 and gets an HPC label", () => {
    const fn = othelloMineMasked;
    const rows = 300;
    const truth = randomTruth(fn, rows, 21);
    const j = 3 * 3 + 2; // square 3, class theirs
    // a = 0.7·g_j: max 0.7; τ_10 = 0.7 exactly, so k = 10 is off (strict)
    const acts = Float32Array.from({ length: rows }, (_, n) => 0.7 * truth[n * 192 + j]!);
    const { counts } = label(acts, rows, 1, new Map([[fn, truth]]));
    for (let k = 0; k < 10; k++) expect(featureF1(counts[0]!, k, 0, j).f1).toBeCloseTo(1, 7);
    expect(featureF1(counts[0]!, 10, 0, j).f1).toBe(0);
    const labels = highPrecisionLabels(counts[0]!);
    expect(labels.n_hpc_by_k).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(labels.entries)).toEqual(Array(10).fill(j));
  });

  it("a constant feature scores 2p/(1+p) on a binary BSP", () => {
    const hasQueen = chessStrategyFunction("has_queen");
    const rows = 1000;
    const truth = randomTruth(hasQueen, rows, 31, 0.9);
    const p = truth.reduce((sum, v) => sum + v, 0) / rows;
    const { counts } = label(new Float32Array(rows).fill(1), rows, 1, new Map([[hasQueen, truth]]));
    for (let k = 0; k < 10; k++) expect(featureF1(counts[0]!, k, 0, 0).f1).toBeCloseTo((2 * p) / (1 + p), 7);
    expect(coverageOf(counts[0]!).coverage).toBeCloseTo((2 * p) / (1 + p), 7);
  });

  it("keeps coverage(k) = coverage_ref(k)·D_ref/|J⁺| for every k", () => {
    const fns = [othelloMine, othelloMineMasked, othelloLegal];
    const rows = 1500;
    const truth = new Map(fns.map((fn, i) => [fn, randomTruth(fn, rows, 40 + i, 0.1, [0, 63])]));
    const acts = correlatedActivations([...truth].map(([fn, table]) => ({ fn, table })), rows, 40, 5);
    const { counts } = label(acts, rows, 40, truth);
    for (const functionCounts of counts) {
      const result = coverageOf(functionCounts);
      const ratio = result.d_ref / result.n_positive_entries;
      for (let k = 0; k < 11; k++) expect(result.coverage_by_k[k]).toBeCloseTo(result.coverage_ref_by_k[k]! * ratio, 12);
      expect(result.coverage).toBeCloseTo(result.coverage_ref * ratio, 12);
      expect(result.coverage_ref).toBe(Math.max(...result.coverage_ref_by_k));
      expect(result.coverage_ref).toBeGreaterThan(0);
    }
  });
});
