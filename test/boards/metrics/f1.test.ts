import { describe, expect, it } from "vitest";
import type { BspFunction } from "../../../boards/bsp.js";
import { f1Score, microCounts, precisionRecall } from "../../../boards/metrics/f1.js";
import { othelloLegal, othelloMine } from "../../../boards/othello/bsp.js";

describe("f1Score (spec board-metrics.md §5)", () => {
  it("matches hand-worked values with ε = 1e-8", () => {
    // tp 3, fp 1, fn 2: prec 3/4, rec 3/5, F1 = 2·0.45/1.35 = 2/3
    expect(f1Score(3, 1, 2)).toBeCloseTo(2 / 3, 7);
    expect(precisionRecall(3, 1, 2).precision).toBeCloseTo(0.75, 8);
    expect(precisionRecall(3, 1, 2).recall).toBeCloseTo(0.6, 8);
    // perfect is 1 − O(ε), empty is exactly 0 (no NaN from 0/0)
    expect(f1Score(20, 0, 0)).toBeLessThan(1);
    expect(f1Score(20, 0, 0)).toBeCloseTo(1, 7);
    expect(f1Score(0, 0, 0)).toBe(0);
    expect(f1Score(0, 5, 7)).toBe(0);
    // the exact ε placement: prec = 1/(1+ε), rec = 1/(2+ε)
    const precision = 1 / (1 + 1e-8);
    const recall = 1 / (2 + 1e-8);
    expect(f1Score(1, 0, 1)).toBe((2 * precision * recall) / (precision + recall + 1e-8));
  });
});

describe("microCounts (spec §8 steps 3 and 5)", () => {
  it("counts X only for squares with exactly one TP class and exactly one FP class", () => {
    const width = 192;
    const truth = new Uint8Array(2 * width);
    const pred = new Uint8Array(2 * width);
    const set = (table: Uint8Array, row: number, square: number, cls: number) => (table[row * width + square * 3 + cls] = 1);
    // row 0, square 0: true 0, predicted 0 and 2 → 1 TP, 1 FP → X
    set(truth, 0, 0, 0), set(pred, 0, 0, 0), set(pred, 0, 0, 2);
    // row 0, square 1: true 1, predicted 0 and 2 → 0 TP, 2 FP, 1 FN → no X
    set(truth, 0, 1, 1), set(pred, 0, 1, 0), set(pred, 0, 1, 2);
    // row 0, square 2: true 2, predicted 2 → 1 TP
    set(truth, 0, 2, 2), set(pred, 0, 2, 2);
    // row 0, square 3: true 0, predicted 0, 1, 2 → 1 TP, 2 FP → no X (two FP classes)
    set(truth, 0, 3, 0), set(pred, 0, 3, 0), set(pred, 0, 3, 1), set(pred, 0, 3, 2);
    // row 1, square 0: true 0, predicted 1 → 0 TP, 1 FP, 1 FN → no X
    set(truth, 1, 0, 0), set(pred, 1, 0, 1);
    // row 1, square 63: true 2, nothing predicted → 1 FN
    set(truth, 1, 63, 2);
    expect(microCounts(othelloMine, truth, pred, 2)).toEqual({ tp: 3, fp: 6, fn: 3, x: 1 });
  });

  it("has X = 0 for one class per square", () => {
    const truth = new Uint8Array(64);
    const pred = new Uint8Array(64);
    truth[5] = pred[5] = 1; // TP
    pred[6] = 1; // FP
    truth[7] = 1; // FN
    expect(microCounts(othelloLegal, truth, pred, 1)).toEqual({ tp: 1, fp: 1, fn: 1, x: 0 });
  });

  it("works on a scalar function and names it when the tables are short", () => {
    const scalar: BspFunction = { id: "toy", game: "chess", rows: 1, classes: 1, maskedClasses: [], entryName: () => "toy" };
    expect(microCounts(scalar, Uint8Array.of(1, 0, 1, 0), Uint8Array.of(1, 1, 0, 0), 4)).toEqual({ tp: 1, fp: 1, fn: 1, x: 0 });
    expect(() => microCounts(scalar, new Uint8Array(3), new Uint8Array(4), 4)).toThrow(/toy/);
  });
});
