import { describe, expect, it } from "vitest";
import { bspNames, bspWidth, type BspFunction } from "../../../boards/bsp.js";
import { featureAnnotations } from "../../../boards/metrics/annotations.js";
import { highPrecisionLabels } from "../../../boards/metrics/feature-labels.js";
import { featureF1, LabellingCounts } from "../../../boards/metrics/feature-stats.js";
import { featureLevels, FiringSample } from "../../../boards/metrics/thresholds.js";
import { othelloColor, othelloMine, othelloMineMasked } from "../../../boards/othello/bsp.js";
import { correlatedActivations, randomTruth } from "./synthetic-boards.js";

function countsOf(fns: BspFunction[], acts: Float32Array, rows: number, nFeatures: number, truth: Uint8Array[]) {
  const sample = new FiringSample(nFeatures);
  sample.add(acts, rows);
  const thresholds = sample.finish();
  const labelling = new LabellingCounts(fns, thresholds.alive.length);
  labelling.add(featureLevels(acts, rows, thresholds), new Map(fns.map((fn, i) => [fn.id, truth[i]!])));
  const counts = labelling.finish();
  return { thresholds, counts, labels: counts.map((c) => highPrecisionLabels(c)) };
}

describe("featureAnnotations (spec board-metrics.md §10)", () => {
  it("lists best entries and HPC labels of a hand-worked toy", () => {
    // two 2-class functions sharing the name "x": a = [x, y], b = [x, z]
    const names = { a: ["x", "y"], b: ["x", "z"] } as const;
    const fnOf = (id: "a" | "b"): BspFunction => ({ id, game: "othello", rows: 1, classes: 2, maskedClasses: [], entryName: (_r, _c, cls) => names[id][cls]! });
    const fns = [fnOf("a"), fnOf("b")];
    //                 n0      n1      n2      n3
    const truthA = [[1, 0], [1, 0], [0, 1], [0, 0]];
    const truthB = [[1, 0], [1, 0], [0, 1], [0, 1]];
    // feature 0: on at n0, n1 (level 9); feature 1: dead; feature 2: n2 = max 1 (level 9), n3 = 0.5 (τ_5 = 0.5 → level 4)
    const base = [[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0.5]];
    const rows = 40; // each base position 10 times
    const acts = new Float32Array(rows * 3);
    const tables = [new Uint8Array(rows * 2), new Uint8Array(rows * 2)];
    for (let n = 0; n < rows; n++) {
      acts.set(base[n % 4]!, n * 3);
      tables[0]!.set(truthA[n % 4]!, n * 2);
      tables[1]!.set(truthB[n % 4]!, n * 2);
    }
    const { thresholds, counts, labels } = countsOf(fns, acts, rows, 3, tables);
    const annotations = featureAnnotations(thresholds, counts, labels);
    expect(annotations.map((annotation) => annotation.feature)).toEqual([0, 2]);

    // feature 0: a.x and b.x both TP 20 of on 20, P 20 → equal F1 at k 0 → "x" once, from a (first wins ties)
    const [first, second] = annotations;
    expect(first!.best).toHaveLength(1);
    expect(first!.best[0]).toMatchObject({ bsp: "x", fn: "a", k: 0, tp: 20, on: 20 });
    expect(first!.best[0]!.f1).toBeCloseTo(1, 7);
    expect(first!.best[0]!.precision).toBeCloseTo(1, 7);
    expect(first!.best[0]!.recall).toBeCloseTo(1, 7);
    // labels x at k 0..9 in both functions, deduplicated by (name, k) → a's
    expect(first!.labels).toEqual(Array.from({ length: 10 }, (_, k) => ({ bsp: "x", fn: "a", k })));

    // feature 2: b.z is perfect at k ≤ 4 (TP 20 of 20); a.y is perfect only at k ≥ 5 (TP 10 of 10; k ≤ 4 adds n3,
    // F1 2/3). Both F1 ≈ 1; ε makes TP 20 rank just above TP 10.
    expect(second!.best.map(({ bsp, fn, k, tp, on }) => ({ bsp, fn, k, tp, on }))).toEqual([
      { bsp: "z", fn: "b", k: 0, tp: 20, on: 20 },
      { bsp: "y", fn: "a", k: 5, tp: 10, on: 10 },
    ]);
    expect(second!.labels).toEqual([
      ...[5, 6, 7, 8, 9].map((k) => ({ bsp: "y", fn: "a", k })),
      // z stays labelled at k ≥ 5 (TP 10 of on 10: recall is not required)
      ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => ({ bsp: "z", fn: "b", k })),
    ]);
  });

  it("equals a brute-force ranking over Othello functions that share names", () => {
    // mine/mine_masked share mine.* and theirs.*; color's empty class shares othello.empty.* with mine
    const fns = [othelloMine, othelloMineMasked, othelloColor];
    const rows = 1200;
    const nFeatures = 16;
    const tables = fns.map((fn, i) => randomTruth(fn, rows, 70 + i));
    const acts = correlatedActivations(fns.map((fn, i) => ({ fn, table: tables[i]! })), rows, nFeatures, 9);
    const { thresholds, counts, labels } = countsOf(fns, acts, rows, nFeatures, tables);
    const annotations = featureAnnotations(thresholds, counts, labels, 5);
    expect(annotations).toHaveLength(thresholds.alive.length);
    annotations.forEach((annotation, a) => {
      expect(annotation.feature).toBe(thresholds.alive[a]);
      // every (function, entry) at its best k (lowest k on ties), the best per name, F1 desc, stable order
      const byName = new Map<string, { bsp: string; fn: string; k: number; f1: number; order: number }>();
      let order = 0;
      counts.forEach((functionCounts) => {
        const names = bspNames(functionCounts.fn);
        for (let j = 0; j < bspWidth(functionCounts.fn); j++) {
          let best = { f1: 0, k: -1 };
          for (let k = 0; k < 11; k++) {
            const { f1 } = featureF1(functionCounts, k, a, j);
            if (f1 > best.f1) best = { f1, k };
          }
          const candidate = { bsp: names[j]!, fn: functionCounts.fn.id, k: best.k, f1: best.f1, order: order++ };
          if (best.k < 0) continue;
          const previous = byName.get(candidate.bsp);
          if (!previous || candidate.f1 > previous.f1) byName.set(candidate.bsp, candidate);
        }
      });
      const expected = [...byName.values()].sort((x, y) => y.f1 - x.f1 || x.order - y.order).slice(0, 5);
      expect(annotation.best.map(({ bsp, fn, k, f1 }) => ({ bsp, fn, k, f1 }))).toEqual(expected.map(({ bsp, fn, k, f1 }) => ({ bsp, fn, k, f1 })));
      expect(new Set(annotation.best.map((entry) => entry.bsp)).size).toBe(annotation.best.length);
      for (const entry of annotation.best) {
        const functionCounts = counts.find((c) => c.fn.id === entry.fn)!;
        const j = bspNames(functionCounts.fn).indexOf(entry.bsp);
        expect(entry).toEqual({ bsp: entry.bsp, fn: entry.fn, k: entry.k, ...featureF1(functionCounts, entry.k, a, j) });
      }
      // labels: each labelled (function, k, entry), first function per (name, k)
      const expectedLabels: { bsp: string; fn: string; k: number }[] = [];
      const seen = new Set<string>();
      labels.forEach((functionLabels) => {
        const names = bspNames(functionLabels.fn);
        for (let k = 0; k < 11; k++) {
          const start = functionLabels.offsets[k * functionLabels.nAlive + a]!;
          const end = functionLabels.offsets[k * functionLabels.nAlive + a + 1]!;
          for (const j of functionLabels.entries.subarray(start, end)) {
            if (seen.has(`${names[j]}@${k}`)) continue;
            seen.add(`${names[j]}@${k}`);
            expectedLabels.push({ bsp: names[j]!, fn: functionLabels.fn.id, k });
          }
        }
      });
      expect(annotation.labels).toEqual(expectedLabels);
    });
    // the data exercise the rules: full top-5 lists, and labels shared between mine and mine_masked
    expect(annotations.filter((annotation) => annotation.best.length === 5).length).toBeGreaterThan(3);
    expect(annotations.some((annotation) => annotation.labels.some((l) => l.fn === "mine" && l.bsp.startsWith("othello.theirs")))).toBe(true);
  });
});
