// Sparse-kernel training of TopK and BatchTopK (spec sae.md §7; sae/trainers/topk-sae.ts on active-sets.ts): the
// AuxK active sets (gatherColumns), and the spec's acceptance test — d_in 64, d_sae 512, B 256, 100 steps with dead
// features so that AuxK contributes: every step starts the sparse trainer from the dense trainer's exact state, and
// its loss is within 1e-5 relative, every parameter within 1e-5·max(1, max|param|) of the dense step, and the top-k
// selections are identical; plus the "auto" switch and its config fields.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { selectKernels } from "../../compute/select.js";
import { ActiveSets } from "../../sae/trainers/active-sets.js";
import { batchTopKConfigSchema, BatchTopKTrainer } from "../../sae/trainers/batch-topk.js";
import type { KernelPath } from "../../sae/trainers/sparse-relu-sae.js";
import { topKConfigSchema, TopKTrainer } from "../../sae/trainers/topk.js";
import type { TopKSaePass } from "../../sae/trainers/topk-sae.js";
import type { StepLog } from "../../sae/trainers/trainer.js";
import { PARAM_NAMES, sparseDictionary } from "./reference.js";

const { kernels } = await selectKernels({ threads: 1 });

/** The trainer's pass (protected): its f, fired and the path it took. */
const passOf = (trainer: TopKTrainer | BatchTopKTrainer) => (trainer as unknown as { pass: TopKSaePass }).pass;

describe("ActiveSets.gatherColumns (AuxK's sets over the dead features)", () => {
  it("maps compact column j to feature columns[j], keeps f ≠ 0 only, and re-indexes by feature", () => {
    // [2, 3] over features 1, 4, 6 of 8
    const compact = Float32Array.from([0.5, 0, 2, 0, 0, 3]);
    const sets = new ActiveSets(8);
    sets.gatherColumns(compact, 2, Int32Array.from([1, 4, 6]), 3);
    expect(sets.nnz).toBe(3);
    expect(Array.from(sets.rowOffsets)).toEqual([0, 2, 3]);
    expect(Array.from(sets.featureIndices.subarray(0, 3))).toEqual([1, 6, 6]);
    expect(Array.from(sets.values.subarray(0, 3))).toEqual([0.5, 2, 3]);
    sets.indexByFeature();
    expect(Array.from(sets.featureOffsets)).toEqual([0, 0, 1, 1, 1, 1, 1, 3, 3]);
    expect(Array.from(sets.columnRows.subarray(0, 3))).toEqual([0, 0, 1]);
  });

  it("names the sizes and the bad column index", () => {
    const sets = new ActiveSets(8);
    expect(() => sets.gatherColumns(new Float32Array(5), 2, Int32Array.from([1, 4, 6]), 3)).toThrow(/compact has 5 values, expected \[2, 3\] = 6/);
    expect(() => sets.gatherColumns(new Float32Array(6), 2, Int32Array.from([1, 1, 6]), 3)).toThrow(/columns\[1\] = 1/);
    expect(() => sets.gatherColumns(new Float32Array(6), 2, Int32Array.from([1, 4, 8]), 3)).toThrow(/columns\[2\] = 8/);
  });
});

describe("spec §7 acceptance: TopK / BatchTopK, 100 training steps, sparse path against dense (d_in 64, d_sae 512, B 256)", () => {
  const dIn = 64;
  const dSae = 512;
  const B = 256;
  const k = 8;
  const steps = 100;
  const context = { kernels, dIn, totalSteps: steps, batchSize: B };
  const toy = sparseDictionary(dIn, 1024, 91);
  const batches = Array.from({ length: steps }, () => toy.batch(B, 12));
  // a feature not selected for one step's B tokens is dead: AuxK runs on (nearly) every step
  const shared = { dSae, k, deadTokens: B, thresholdStart: 10 };

  type Make = (kernelPath: KernelPath) => TopKTrainer | BatchTopKTrainer;
  const trainers: { name: string; make: Make }[] = [
    { name: "topk", make: (kernelPath) => new TopKTrainer(topKConfigSchema.parse({ trainer: "topk", ...shared, kernelPath }), context) },
    { name: "batch_topk", make: (kernelPath) => new BatchTopKTrainer(batchTopKConfigSchema.parse({ trainer: "batch_topk", ...shared, kernelPath }), context) },
  ];

  for (const { name, make } of trainers) {
    it(name, () => {
      const dense = make("dense");
      const sparse = make("sparse");
      let auxSteps = 0;
      for (let step = 0; step < steps; step++) {
        sparse.restore(dense.state());
        const denseLog: StepLog = dense.step(batches[step], B);
        const sparseLog: StepLog = sparse.step(batches[step], B);
        expect(denseLog.kernelPath).toBe("dense");
        expect(sparseLog.kernelPath).toBe("sparse");
        // identical selections: the same kept entries with the same values, the same fired and dead features
        const denseF = passOf(dense).features;
        const sparseF = passOf(sparse).features;
        for (let i = 0; i < denseF.length; i++) {
          if (denseF[i] !== sparseF[i]) expect.fail(`step ${step}: f[${i}] = ${sparseF[i]} (sparse) vs ${denseF[i]} (dense)`);
        }
        expect(Array.from(passOf(sparse).fired)).toEqual(Array.from(passOf(dense).fired));
        expect(sparseLog.state.dead_features).toBe(denseLog.state.dead_features);
        expect(sparseLog.state.threshold).toBe(denseLog.state.threshold);
        if (passOf(dense).auxCount > 0) auxSteps++;
        expect(passOf(sparse).auxCount).toBe(passOf(dense).auxCount);
        const relative = Math.abs(sparseLog.loss - denseLog.loss) / Math.abs(denseLog.loss);
        if (!(relative <= 1e-5)) expect.fail(`step ${step}: loss ${sparseLog.loss} (sparse) vs ${denseLog.loss} (dense), relative ${relative}`);
        const auxDense = denseLog.state.auxk_loss as number;
        const auxSparse = sparseLog.state.auxk_loss as number;
        if (!(Math.abs(auxSparse - auxDense) <= 1e-5 * Math.abs(auxDense))) expect.fail(`step ${step}: auxk ${auxSparse} (sparse) vs ${auxDense} (dense)`);
        for (const tensor of PARAM_NAMES) {
          const values = dense.params[tensor];
          let largest = 0;
          for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]));
          const tolerance = 1e-5 * Math.max(1, largest);
          const other = sparse.params[tensor];
          for (let i = 0; i < values.length; i++) {
            if (!(Math.abs(other[i] - values[i]) <= tolerance)) expect.fail(`step ${step}: ${tensor}[${i}] = ${other[i]} (sparse) vs ${values[i]} (dense), tolerance ${tolerance}`);
          }
        }
      }
      // AuxK really contributed on most steps (it needs a step of history before anything is dead)
      expect(auxSteps).toBeGreaterThan(steps / 2);
    });
  }
});

describe('kernelPath "auto" in the TopK trainers', () => {
  const dIn = 16;
  const dSae = 64;
  const B = 32;
  const k = 4;

  it("defaults to auto at the provider's break-even, unresolved (null) in the config; rejects bad values", () => {
    for (const schema of [topKConfigSchema, batchTopKConfigSchema]) {
      const trainer = schema === topKConfigSchema ? "topk" : "batch_topk";
      const config = schema.parse({ trainer, dSae, k });
      expect(config.kernelPath).toBe("auto");
      expect(config.sparseDensityThreshold).toBeNull();
      expect(() => schema.parse({ trainer, dSae, k, kernelPath: "fast" })).toThrow();
      expect(() => schema.parse({ trainer, dSae, k, sparseDensityThreshold: 1.5 })).toThrow();
    }
    // k/dSae = 1/16 kept: below the reference provider's break-even (1), so its auto path goes sparse
    const toy = sparseDictionary(dIn, 48, 5);
    const trainer = new TopKTrainer(topKConfigSchema.parse({ trainer: "topk", dSae, k }), { kernels: referenceKernels, dIn, totalSteps: 10, batchSize: B });
    expect(trainer.config.sparseDensityThreshold).toBeNull();
    expect(trainer.step(toy.batch(B, 4), B).kernelPath).toBe("sparse");
  });

  it("each step's log names the path its kept fraction chose", () => {
    const toy = sparseDictionary(dIn, 48, 5);
    const batch = toy.batch(B, 4);
    for (const make of [
      (threshold: number) => new TopKTrainer(topKConfigSchema.parse({ trainer: "topk", dSae, k, sparseDensityThreshold: threshold }), { kernels, dIn, totalSteps: 10, batchSize: B }),
      (threshold: number) =>
        new BatchTopKTrainer(batchTopKConfigSchema.parse({ trainer: "batch_topk", dSae, k, sparseDensityThreshold: threshold }), { kernels, dIn, totalSteps: 10, batchSize: B }),
    ]) {
      const probe = make(1);
      probe.step(batch, B);
      const kept = probe.batchStats(batch).l0 / dSae; // nnz/(B·dSae) of f
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThanOrEqual(k / dSae);
      expect(make(kept).step(batch, B).kernelPath).toBe("sparse");
      expect(make(kept - 1 / (B * dSae)).step(batch, B).kernelPath).toBe("dense");
    }
  });
});
