import { describe, expect, it } from "vitest";
import { bspWidth, type BspFunction } from "../../../boards/bsp.js";
import { chessStrategyFunction } from "../../../boards/chess/strategy.js";
import { featureF1, LabellingCounts } from "../../../boards/metrics/feature-stats.js";
import { featureLevels, FiringSample } from "../../../boards/metrics/thresholds.js";
import { othelloLegal, othelloMineMasked } from "../../../boards/othello/bsp.js";
import { correlatedActivations, randomTruth } from "./synthetic-boards.js";

const K = 11;

describe("LabellingCounts (spec board-metrics.md §5)", () => {
  // masked multi-class, binary board map and a scalar (R = 1, C = 1)
  const fns: BspFunction[] = [othelloMineMasked, othelloLegal, chessStrategyFunction("has_queen")];
  const rows = 4300;
  const nFeatures = 10;
  const truth = fns.map((fn, i) => ({ fn, table: randomTruth(fn, rows, 100 + i, fn.rows === 1 ? 0.7 : 0.15) }));
  const acts = correlatedActivations(truth, rows, nFeatures, 7);
  const fireRows = 1000;

  it("equals a dense triple loop over (k, feature, position, entry)", () => {
    const sample = new FiringSample(nFeatures);
    sample.add(acts.subarray(0, fireRows * nFeatures), fireRows);
    const thresholds = sample.finish();

    // batches that take every path: direct, gathered then flushed by size, gathered then flushed by finish()
    const counts = new LabellingCounts(fns, thresholds.alive.length);
    let start = 0;
    for (const batch of [2100, 59, 59, 2000, 82]) {
      const levels = featureLevels(acts.subarray(start * nFeatures, (start + batch) * nFeatures), batch, thresholds);
      const batchTruth = new Map(truth.map(({ fn, table }) => [fn.id, table.subarray(start * bspWidth(fn), (start + batch) * bspWidth(fn))]));
      counts.add(levels, batchTruth);
      start += batch;
    }
    expect(start).toBe(rows);
    const results = counts.finish();

    // dense reference: alive and |max| over the firing rows, τ = fround(fround(k·0.1)·max), on ⇔ a > τ
    const alive: number[] = [];
    const max: number[] = [];
    for (let f = 0; f < nFeatures; f++) {
      let fMax = -Infinity;
      let isAlive = false;
      for (let n = 0; n < fireRows; n++) {
        const value = acts[n * nFeatures + f]!;
        if (value !== 0) isAlive = true;
        fMax = Math.max(fMax, value);
      }
      if (isAlive) {
        alive.push(f);
        max.push(Math.fround(Math.abs(fMax)));
      }
    }
    expect(alive.length).toBe(nFeatures - 1); // feature 1 is dead
    expect(Array.from(thresholds.alive)).toEqual(alive);
    const isOn = (k: number, a: number, n: number) => acts[n * nFeatures + alive[a]!]! > Math.fround(Math.fround(k * 0.1) * max[a]!);

    results.forEach((result, i) => {
      const { fn, table } = truth[i]!;
      const width = bspWidth(fn);
      expect(result.fn).toBe(fn);
      expect(result.positions).toBe(rows);
      const positive = new Int32Array(width);
      for (let n = 0; n < rows; n++) for (let j = 0; j < width; j++) positive[j] += table[n * width + j]!;
      expect(result.positive).toEqual(positive);
      const on = new Int32Array(K * alive.length);
      const tp = new Int32Array(alive.length * width * K);
      for (let k = 0; k < K; k++) {
        for (let a = 0; a < alive.length; a++) {
          for (let n = 0; n < rows; n++) {
            if (!isOn(k, a, n)) continue;
            on[k * alive.length + a]++;
            for (let j = 0; j < width; j++) if (table[n * width + j]) tp[(a * width + j) * K + k]++;
          }
        }
      }
      expect(result.on).toEqual(on);
      expect(result.tp).toEqual(tp);
      // the data must exercise the counts: some TP at k ≥ 5, all entries of mine_masked's empty class zero
      expect(tp.some((value, index) => value > 0 && index % K >= 5)).toBe(true);
      if (fn === othelloMineMasked) for (let s = 0; s < 64; s++) expect(positive[s * 3 + 1]).toBe(0);
    });

    // featureF1 is §5's formula on these counts
    const mine = results[0]!;
    const { f1, precision, recall, tp, on } = featureF1(mine, 2, 3, 7);
    const expectedTp = mine.tp[(3 * 192 + 7) * K + 2]!;
    const expectedOn = mine.on[2 * mine.nAlive + 3]!;
    const p = expectedTp / (expectedOn + 1e-8);
    const r = expectedTp / (mine.positive[7]! + 1e-8);
    expect([tp, on]).toEqual([expectedTp, expectedOn]);
    expect(precision).toBe(p);
    expect(recall).toBe(r);
    expect(f1).toBe((2 * p * r) / (p + r + 1e-8));
  });

  it("rejects a missing or misaligned truth table, naming the function", () => {
    const counts = new LabellingCounts([othelloLegal], 2);
    const levels = { rows: 2, offsets: Int32Array.of(0, 1, 2), features: Int32Array.of(0, 1), levels: Int8Array.of(3, 10) };
    expect(() => counts.add(levels, new Map())).toThrow(/legal/);
    expect(() => counts.add(levels, new Map([["legal", new Uint8Array(64)]]))).toThrow(/legal.*64 entries/);
    const badLevels = { ...levels, features: Int32Array.of(0, 2) };
    expect(() => counts.add(badLevels, new Map([["legal", new Uint8Array(128)]]))).toThrow(/alive index 2/);
  });
});
