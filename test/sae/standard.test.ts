// The standard trainer (spec sae.md §2.1) end to end: LR 0 at step 0, losses and batch statistics against float64,
// unit-norm decoder rows after every step, checkpoints that resume bit-identically, dead-neuron resampling (§2.8),
// and recovery of a known sparse dictionary from superposition toy data.

import { describe, expect, it } from "vitest";
import type { Kernels } from "../../compute/kernels.js";
import { referenceKernels } from "../../compute/reference.js";
import { selectKernels } from "../../compute/select.js";
import { standardConfigSchema, StandardTrainer } from "../../sae/trainers/standard.js";
import { TrainerStateError, type StepLog } from "../../sae/trainers/trainer.js";
import { fve64, loss64, meanMaxCosine, PARAM_NAMES, rowNorms, sparseDictionary, toFloat64, uniformArray } from "./reference.js";

const dIn = 8;
const dSae = 24;
const B = 16;

function standard(overrides: Record<string, unknown>, totalSteps: number, kernels: Kernels = referenceKernels): StandardTrainer {
  return new StandardTrainer(standardConfigSchema.parse({ trainer: "standard", dSae, ...overrides }), { kernels, dIn, totalSteps, batchSize: B });
}

describe("StandardTrainer", () => {
  it("step 0 runs at LR 0: only the decoder renormalisation (0.1 → 1) changes the weights; Adam moments move", () => {
    const trainer = standard({ lambda: 0.2 }, 100);
    const twin = standard({ lambda: 0.2 }, 100);
    expect(twin.params).toEqual(trainer.params); // same seed (42) and shape: identical start
    const initial = structuredClone(trainer.params);
    const log = trainer.step(uniformArray(B * dIn, 5), B);
    expect(log.lr).toBe(0);
    expect(log.sparsityScale).toBe(0);
    expect(trainer.params.W_enc).toEqual(initial.W_enc);
    expect(trainer.params.b_enc).toEqual(initial.b_enc);
    expect(trainer.params.b_dec).toEqual(initial.b_dec);
    const norms = rowNorms(initial.W_dec, dIn);
    for (let i = 0; i < dSae; i++) for (let j = 0; j < dIn; j++) expect(trainer.params.W_dec[i * dIn + j]).toBeCloseTo(initial.W_dec[i * dIn + j] / norms[i], 6);
    const state = trainer.state();
    expect(state.tensors["adam.m.W_enc"].some((value) => value !== 0)).toBe(true);
    expect(state.values.adamSteps).toBe(1);
    expect(trainer.step(uniformArray(B * dIn, 6), B).lr).toBeCloseTo(1e-3 / 2, 12); // W_lr = ⌊1000·100/36,621⌋ = 2
  });

  for (const recon of ["l2sq", "l2"] as const) {
    it(`each step's loss, MSE, L0 and FVE equal float64 on the pre-step weights (recon ${recon})`, () => {
      const trainer = standard({ lambda: 0.3, recon, lr: 1e-2, sparsityWarmupSteps: 4 }, 40);
      for (let step = 0; step < 8; step++) {
        const batch = uniformArray(B * dIn, 100 + step);
        const before = toFloat64(trainer.params);
        const sigma = Math.min(step / 4, 1);
        const log = trainer.step(batch, B);
        const expected = loss64(before, batch, B, dIn, dSae, recon, { kind: "l1", coefficient: 0.3 * sigma });
        expect(log.loss).toBeCloseTo(expected.loss, 5);
        expect(log.reconstruction).toBeCloseTo(expected.reconstruction, 5);
        expect(log.mse).toBeCloseTo(expected.mse, 5);
        expect(log.state.l1).toBeCloseTo(expected.penalty, 5);
        const stats = trainer.batchStats(batch);
        const l0 = expected.forward.f.reduce((count, value) => count + (value > 0 ? 1 : 0), 0) / B;
        expect(stats.l0).toBe(l0);
        expect(stats.fve).toBeCloseTo(fve64(batch, expected.forward.xHat, B, dIn), 5);
      }
    });
  }

  it("decoder rows have unit norm after every step", () => {
    const trainer = standard({ lambda: 0.5, lr: 3e-2 }, 30);
    for (let step = 0; step < 30; step++) {
      trainer.step(uniformArray(B * dIn, 200 + step, 2), B);
      for (const norm of rowNorms(trainer.params.W_dec, dIn)) expect(norm).toBeCloseTo(1, 6);
    }
  });

  it("state() → restore() into a fresh trainer continues bit-identically", () => {
    const straight = standard({ lambda: 0.3, lr: 1e-2 }, 20);
    const interrupted = standard({ lambda: 0.3, lr: 1e-2 }, 20);
    for (let step = 0; step < 20; step++) straight.step(uniformArray(B * dIn, 300 + step), B);
    for (let step = 0; step < 9; step++) interrupted.step(uniformArray(B * dIn, 300 + step), B);
    const resumed = standard({ lambda: 0.3, lr: 1e-2 }, 20);
    resumed.restore(interrupted.state());
    expect(resumed.stepsDone).toBe(9);
    for (let step = 9; step < 20; step++) resumed.step(uniformArray(B * dIn, 300 + step), B);
    for (const name of PARAM_NAMES) expect(resumed.params[name]).toEqual(straight.params[name]);
    expect(resumed.state()).toEqual(straight.state());
  });

  it("restore() rejects a checkpoint of another shape or trainer, naming the entry", () => {
    const checkpoint = standard({}, 10).state();
    const wider = new StandardTrainer(standardConfigSchema.parse({ trainer: "standard", dSae: dSae + 1 }), { kernels: referenceKernels, dIn, totalSteps: 10, batchSize: B });
    expect(() => wider.restore(checkpoint)).toThrow(/checkpoint tensor W_enc has 192 elements, expected 200/);
    expect(() => standard({}, 10).restore({ ...checkpoint, values: { ...checkpoint.values, trainer: "p_anneal" } })).toThrow(TrainerStateError);
  });
});

describe("dead-neuron resampling (spec §2.8)", () => {
  const R = 10;
  const forced = [0, 1, 2, 3, 4, 5];
  const trainer = standard({ lambda: 0.1, lr: 1e-2, resampleSteps: R, lrWarmupSteps: 2 }, 40);
  for (const i of forced) trainer.params.b_enc[i] = -100; // these can never fire
  const batches = Array.from({ length: R + 1 }, (_, step) => uniformArray(B * dIn, 400 + step));
  const logs: StepLog[] = [];
  const firedInLastHalf = new Set<number>();
  for (let step = 0; step < R; step++) {
    const features = trainer.sae().encode(batches[step], B); // this step's forward pass
    if (step >= R / 2) features.forEach((value, index) => value > 0 && firedInLastHalf.add(index % dSae));
    logs.push(trainer.step(batches[step], B));
  }
  const deadFeatures = Array.from({ length: dSae }, (_, i) => i).filter((i) => !firedInLastHalf.has(i));
  const state = trainer.state();

  it("resamples exactly the features without a positive activation in the last R/2 steps", () => {
    expect(deadFeatures.length).toBeGreaterThan(forced.length);
    expect(deadFeatures.length).toBeLessThan(B); // one input each
    expect(trainer.lastResampled).toEqual(deadFeatures);
  });

  it("W_dec row = x/‖x‖ of a batch input, W_enc column = that ·0.2·mean alive encoder norm, b_enc = 0, Adam reset", () => {
    const batch = batches[R - 1];
    const aliveNorms: number[] = [];
    for (let i = 0; i < dSae; i++) {
      if (deadFeatures.includes(i)) continue;
      let normSq = 0;
      for (let j = 0; j < dIn; j++) normSq += trainer.params.W_enc[j * dSae + i] ** 2;
      aliveNorms.push(Math.sqrt(normSq));
    }
    const scale = 0.2 * (aliveNorms.reduce((a, b) => a + b, 0) / aliveNorms.length);
    const used = new Set<number>();
    for (const i of deadFeatures) {
      const row = Array.from(trainer.params.W_dec.subarray(i * dIn, (i + 1) * dIn));
      const source = Array.from({ length: B }, (_, b) => b).find((b) => {
        const x = Array.from(batch.subarray(b * dIn, (b + 1) * dIn));
        const norm = Math.hypot(...x);
        return x.every((value, j) => Math.abs(value / norm - row[j]) < 1e-6);
      });
      expect(source, `feature ${i} got a batch input`).toBeDefined();
      expect(used.has(source!)).toBe(false); // without replacement
      used.add(source!);
      for (let j = 0; j < dIn; j++) expect(trainer.params.W_enc[j * dSae + i]).toBeCloseTo(row[j] * scale, 6);
      expect(trainer.params.b_enc[i]).toBe(0);
      for (const moment of ["m", "v"]) {
        expect(state.tensors[`adam.${moment}.b_enc`][i]).toBe(0);
        for (let j = 0; j < dIn; j++) {
          expect(state.tensors[`adam.${moment}.W_dec`][i * dIn + j]).toBe(0);
          expect(state.tensors[`adam.${moment}.W_enc`][j * dSae + i]).toBe(0);
        }
      }
    }
    const alive = Array.from({ length: dSae }, (_, i) => i).find((i) => !deadFeatures.includes(i))!;
    expect(state.tensors["adam.v.b_enc"][alive]).toBeGreaterThan(0); // alive features keep their moments
  });

  it("the LR warm-up restarts after a resampling period", () => {
    expect(logs.map((log) => log.lr / 1e-2)).toEqual([0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(trainer.step(batches[R], B).lr).toBe(0);
  });
});

describe("ground-truth recovery (superposition toy data)", async () => {
  const { kernels } = await selectKernels({ threads: 1 });
  it(`a standard SAE (d_sae 128) recovers 64 true directions in R^32: mean max cosine ≥ 0.9 (${kernels.name} kernels)`, () => {
    const data = sparseDictionary(32, 64, 7);
    const steps = 1000;
    const trainer = new StandardTrainer(standardConfigSchema.parse({ trainer: "standard", dSae: 128, lambda: 0.5, lr: 3e-3, seed: 1 }), {
      kernels, dIn: 32, totalSteps: steps, batchSize: 256,
    });
    for (let step = 0; step < steps; step++) trainer.step(data.batch(256, 3), 256);
    expect(meanMaxCosine(data.directions, trainer.params.W_dec, 64, 128, 32)).toBeGreaterThanOrEqual(0.9);
  });
});
