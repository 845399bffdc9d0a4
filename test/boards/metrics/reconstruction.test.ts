import { describe, expect, it } from "vitest";
import { bspWidth, type BspFunction } from "../../../boards/bsp.js";
import { chessStrategyFunction } from "../../../boards/chess/strategy.js";
import { highPrecisionLabels } from "../../../boards/metrics/feature-labels.js";
import { LabellingCounts } from "../../../boards/metrics/feature-stats.js";
import { ReconstructionCounts } from "../../../boards/metrics/reconstruction.js";
import { featureLevels, FiringSample } from "../../../boards/metrics/thresholds.js";
import { othelloLegal, othelloMine } from "../../../boards/othello/bsp.js";
import { correlatedActivations, randomTruth } from "./synthetic-boards.js";

const K = 11;
const f1 = (tp: number, fp: number, fn: number) => {
  const precision = tp / (tp + fp + 1e-8);
  const recall = tp / (tp + fn + 1e-8);
  return (2 * precision * recall) / (precision + recall + 1e-8);
};

describe("ReconstructionCounts (spec board-metrics.md §8)", () => {
  // multi-class (X applies), binary board map, scalar
  const fns: BspFunction[] = [othelloMine, othelloLegal, chessStrategyFunction("can_check_next")];
  const nFeatures = 24;
  const labelRows = 2000;
  const reconRows = 700;
  const truthOf = (rows: number, seed: number) => fns.map((fn, i) => ({ fn, table: randomTruth(fn, rows, seed + i, 0.25) }));
  const labelTruth = truthOf(labelRows, 50);
  const reconTruth = truthOf(reconRows, 60);
  const labelActs = correlatedActivations(labelTruth, labelRows, nFeatures, 3);
  // the same feature→entry ties on fresh boards (same seed draws the same targets and scales)
  const reconActs = correlatedActivations(reconTruth, reconRows, nFeatures, 3);

  const sample = new FiringSample(nFeatures);
  sample.add(labelActs.subarray(0, 1000 * nFeatures), 1000);
  const thresholds = sample.finish();
  const nAlive = thresholds.alive.length;
  const labelling = new LabellingCounts(fns, nAlive);
  labelling.add(featureLevels(labelActs, labelRows, thresholds), new Map(labelTruth.map(({ fn, table }) => [fn.id, table])));
  const counts = labelling.finish();
  const tau = (k: number, a: number) => Math.fround(Math.fround(k * 0.1) * thresholds.maxActivation[thresholds.alive[a]!]!);

  for (const [minTp, minPrecision] of [[10, 0.95], [5, 0.5]] as const) {
    it(`equals a dense per-position reference (labels TP ≥ ${minTp}, precision ≥ ${minPrecision})`, () => {
      fns.forEach((fn, i) => {
        const width = bspWidth(fn);
        const squares = fn.rows * fn.rows;
        const labels = highPrecisionLabels(counts[i]!, minTp, minPrecision);
        // the labels are §7's rule on the counts
        const label = (k: number, a: number, j: number) => {
          const tp = counts[i]!.tp[(a * width + j) * K + k]!;
          const on = counts[i]!.on[k * nAlive + a]!;
          return on > 0 && tp >= minTp && tp / on >= minPrecision;
        };
        for (let k = 0; k < K; k++) {
          for (let a = 0; a < nAlive; a++) {
            const expected = [];
            for (let j = 0; j < width; j++) if (label(k, a, j)) expected.push(j);
            expect(Array.from(labels.entries.subarray(labels.offsets[k * nAlive + a], labels.offsets[k * nAlive + a + 1]))).toEqual(expected);
          }
        }
        expect(labels.entries.length).toBeGreaterThan(0);

        // streaming counts over three batches
        const reconstruction = new ReconstructionCounts(labels);
        for (const [start, end] of [[0, 100], [100, 101], [101, reconRows]]) {
          const levels = featureLevels(reconActs.subarray(start * nFeatures, end * nFeatures), end - start, thresholds);
          reconstruction.add(levels, reconTruth[i]!.table.subarray(start * width, end * width));
        }
        const result = reconstruction.finish();

        // dense reference: slot k = 0..9 thresholds, slot 10 adaptive
        const truth = reconTruth[i]!.table;
        const totals = Array.from({ length: 11 }, () => ({ tp: 0, fp: 0, fn: 0, x: 0 }));
        for (let n = 0; n < reconRows; n++) {
          const isOn = (k: number, a: number) => reconActs[n * nFeatures + thresholds.alive[a]!]! > tau(k, a);
          const preds = Array.from({ length: 11 }, () => new Uint8Array(width));
          for (let a = 0; a < nAlive; a++) {
            let adaptiveK = -1;
            for (let k = 0; k < K; k++) {
              if (!isOn(k, a)) continue;
              let any = false;
              for (let j = 0; j < width; j++) {
                if (!label(k, a, j)) continue;
                any = true;
                if (k < 10) preds[k]![j] = 1;
              }
              if (any) adaptiveK = k;
            }
            if (adaptiveK >= 0) for (let j = 0; j < width; j++) if (label(adaptiveK, a, j)) preds[10]![j] = 1;
          }
          preds.forEach((pred, slot) => {
            for (let s = 0; s < squares; s++) {
              let squareTp = 0;
              let squareFp = 0;
              for (let c = 0; c < fn.classes; c++) {
                const t = truth[n * width + s * fn.classes + c]!;
                const p = pred[s * fn.classes + c]!;
                if (t && p) squareTp++;
                if (!t && p) squareFp++;
                if (t && !p) totals[slot]!.fn++;
              }
              totals[slot]!.tp += squareTp;
              totals[slot]!.fp += squareFp;
              if (squareTp === 1 && squareFp === 1) totals[slot]!.x++;
            }
          });
        }
        const classF1 = totals.slice(0, 10).map(({ tp, fp, fn }) => f1(tp, fp, fn));
        const squareF1 = totals.slice(0, 10).map(({ tp, fp, fn, x }) => f1(tp - x, fp, fn));
        let bestK = 0;
        for (let k = 1; k < 10; k++) if (squareF1[k]! > squareF1[bestK]!) bestK = k;
        expect(result.f1_class_by_k).toEqual(classF1);
        expect(result.f1_square_by_k).toEqual(squareF1);
        expect(result.reconstruction_k).toBe(bestK);
        expect(result.reconstruction).toBe(classF1[bestK]);
        expect([result.tp, result.fp, result.fn]).toEqual([totals[bestK]!.tp, totals[bestK]!.fp, totals[bestK]!.fn]);
        expect(result.f1_adaptive).toBe(f1(totals[10]!.tp, totals[10]!.fp, totals[10]!.fn));
        // the data exercise the rules: predictions at several k, and X > 0 for the 3-class function
        expect(classF1.filter((value) => value > 0).length).toBeGreaterThan(1);
        if (fn.classes > 1 && minPrecision < 0.9) expect(totals.some(({ x }) => x > 0)).toBe(true);
        if (fn.classes === 1) expect(squareF1).toEqual(classF1);
      });
    });
  }

  it("rejects a truth table of the wrong length, naming the function", () => {
    const reconstruction = new ReconstructionCounts(highPrecisionLabels(counts[1]!));
    const levels = featureLevels(reconActs.subarray(0, 2 * nFeatures), 2, thresholds);
    expect(() => reconstruction.add(levels, new Uint8Array(64))).toThrow(/legal.*64 entries/);
  });
});
