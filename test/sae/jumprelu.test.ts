// The JumpReLU trainer (spec sae.md §2.7; sae/trainers/jumprelu.ts) and the jumprelu inference encode (sae/params.ts):
// the straight-through pseudo-gradients against hand-worked values and a float64 re-derivation of the formulas, the
// smooth parts against float64 central differences, the L0 term reaching θ only, θ = exp(ℓ) > 0, the target-l0
// variant, losses against float64, checkpoints that resume bit-identically, and encode for both b_dec settings.

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { readTrainerCheckpoint, writeTrainerCheckpoint } from "../../sae/checkpoint.js";
import { createSae, type SaeParams } from "../../sae/params.js";
import { SaeRandom } from "../../sae/random.js";
import { parseTrainerConfig } from "../../sae/trainers/index.js";
import {
  initJumpReluSae,
  jumpReluConfigSchema,
  JumpReluPass,
  JumpReluTrainer,
  type JumpReluGrads,
  type JumpReluParams,
  type StepGradient,
  type ThresholdParameter,
} from "../../sae/trainers/jumprelu.js";
import { TrainerStateError } from "../../sae/trainers/trainer.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { centralDifferences, rowNorms, uniformArray } from "./reference.js";

const WEIGHTS = ["W_enc", "b_enc", "W_dec", "b_dec"] as const;

function zeroGrads(dIn: number, dSae: number): JumpReluGrads {
  return { W_enc: new Float32Array(dIn * dSae), b_enc: new Float32Array(dSae), W_dec: new Float32Array(dSae * dIn), b_dec: new Float32Array(dIn), threshold: new Float32Array(dSae) };
}

/** One forward + backward of the pass, the way the trainer drives it. */
function passGradients(params: JumpReluParams, x: Float32Array, B: number, epsilon: number, step: StepGradient, parameter: ThresholdParameter) {
  const dIn = params.b_dec.length;
  const dSae = params.b_enc.length;
  const pass = new JumpReluPass(referenceKernels, { dIn, dSae }, epsilon);
  const grads = zeroGrads(dIn, dSae);
  pass.forward(params, x, B);
  const mse = pass.reconstructionLoss(x);
  const l0 = pass.heavisideL0(params.threshold, step.of);
  pass.backward(params, grads, step, parameter);
  return { pass, grads, mse, l0 };
}

// ------------------------------------------------------------------------------------------------------------------
// float64 reference, written from spec §2.7

interface Jump64 {
  W_enc: Float64Array;
  b_enc: Float64Array;
  W_dec: Float64Array;
  b_dec: Float64Array;
  threshold: Float64Array;
}

const to64 = (p: JumpReluParams): Jump64 => ({
  W_enc: Float64Array.from(p.W_enc),
  b_enc: Float64Array.from(p.b_enc),
  W_dec: Float64Array.from(p.W_dec),
  b_dec: Float64Array.from(p.b_dec),
  threshold: Float64Array.from(p.threshold),
});

/** z = x·W_enc + b_enc, f = z·H(z − θ), x̂ = f·W_dec + b_dec. */
function forward64(p: Jump64, x: ArrayLike<number>, B: number) {
  const dIn = p.b_dec.length;
  const dSae = p.b_enc.length;
  const z = new Float64Array(B * dSae);
  const f = new Float64Array(B * dSae);
  const xHat = new Float64Array(B * dIn);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < dSae; i++) {
      let sum = p.b_enc[i];
      for (let j = 0; j < dIn; j++) sum += x[b * dIn + j] * p.W_enc[j * dSae + i];
      z[b * dSae + i] = sum;
      f[b * dSae + i] = sum > p.threshold[i] ? sum : 0;
    }
    for (let j = 0; j < dIn; j++) {
      let sum = p.b_dec[j];
      for (let i = 0; i < dSae; i++) sum += f[b * dSae + i] * p.W_dec[i * dIn + j];
      xHat[b * dIn + j] = sum;
    }
  }
  return { z, f, xHat };
}

type Sparsity64 = { kind: "gdm"; coefficient: number } | { kind: "target-l0"; coefficient: number; target: number };

/** L = mean_b ‖x − x̂‖² + coefficient·(L0 | (L0/target − 1)²), L0 = mean_b Σ H(z − θ) (gdm) or H(f − θ) (target-l0). */
function loss64(p: Jump64, x: ArrayLike<number>, B: number, sparsity: Sparsity64) {
  const dIn = p.b_dec.length;
  const dSae = p.b_enc.length;
  const forward = forward64(p, x, B);
  let mse = 0;
  for (let k = 0; k < B * dIn; k++) mse += (x[k] - forward.xHat[k]) ** 2 / B;
  const s = sparsity.kind === "gdm" ? forward.z : forward.f;
  let count = 0;
  for (let k = 0; k < B * dSae; k++) if (s[k] > p.threshold[k % dSae]) count++;
  const l0 = count / B;
  const penalty = sparsity.kind === "gdm" ? l0 : (l0 / sparsity.target - 1) ** 2;
  return { loss: mse + sparsity.coefficient * penalty, mse, l0, penalty, forward };
}

/** spec §2.7 pseudo-gradient ∂L/∂θ: Σ_b ∂R/∂f·(−θ/ε)K((z − θ)/ε) + ∂(term)/∂L0 · (1/B)Σ_b (−1/ε)K((s − θ)/ε). */
function thresholdGrad64(p: Jump64, x: ArrayLike<number>, B: number, epsilon: number, sparsity: Sparsity64): Float64Array {
  const dIn = p.b_dec.length;
  const dSae = p.b_enc.length;
  const { l0, forward } = loss64(p, x, B, sparsity);
  const { z, f, xHat } = forward;
  const K = (u: number) => (u > -0.5 && u < 0.5 ? 1 : 0);
  const dTermDL0 = sparsity.kind === "gdm" ? sparsity.coefficient : (sparsity.coefficient * 2 * (l0 / sparsity.target - 1)) / sparsity.target;
  const s = sparsity.kind === "gdm" ? z : f;
  const grad = new Float64Array(dSae);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < dSae; i++) {
      let dRdf = 0;
      for (let j = 0; j < dIn; j++) dRdf += (2 / B) * (xHat[b * dIn + j] - x[b * dIn + j]) * p.W_dec[i * dIn + j];
      const theta = p.threshold[i];
      grad[i] += dRdf * (-theta / epsilon) * K((z[b * dSae + i] - theta) / epsilon);
      grad[i] += (dTermDL0 / B) * (-1 / epsilon) * K((s[b * dSae + i] - theta) / epsilon);
    }
  }
  return grad;
}

// ------------------------------------------------------------------------------------------------------------------

describe("JumpReLU straight-through estimators: a hand-worked example", () => {
  // d_in 2, d_sae 2, one row, ε = 0.1, θ = 0.5: z = x = (0.52, 0.47), so f = (0.52, 0) and both units sit in the band
  // |z − θ| < ε/2. x̂ = 0.52·(0.6, 0.8) = (0.312, 0.416); ∂R/∂x̂ = 2(x̂ − x) = (−0.416, −0.108);
  // ∂R/∂f = ∂R/∂x̂·W_decᵀ = (−0.336, −0.268).
  const params: JumpReluParams = {
    W_enc: Float32Array.from([1, 0, 0, 1]),
    b_enc: new Float32Array(2),
    W_dec: Float32Array.from([0.6, 0.8, 0.8, -0.6]),
    b_dec: new Float32Array(2),
    threshold: Float32Array.from([0.5, 0.5]),
  };
  const x = Float32Array.from([0.52, 0.47]);

  it("gdm: ∂θ = −(θ/ε)·∂R/∂f + c·(−1/ε) on each unit in the band; ∂ℓ = θ·∂θ; ∂z = ∂R/∂f·H(z − θ)", () => {
    const { grads, mse, l0, pass } = passGradients(params, x, 1, 0.1, { coefficient: 0.2, of: "preactivations" }, "log_threshold");
    expect(Array.from(pass.features)).toEqual([Math.fround(0.52), 0]);
    expect(mse).toBeCloseTo(0.208 ** 2 + 0.054 ** 2, 6);
    expect(l0).toBe(1);
    // ∂θ = (−5·−0.336 − 2, −5·−0.268 − 2) = (−0.32, −0.66); ×θ = 0.5
    expectClose(grads.threshold, [-0.16, -0.33], 1e-5);
    expectClose(grads.b_enc, [-0.336, 0], 1e-5, 1e-7);
    expectClose(grads.W_enc, [0.52 * -0.336, 0, 0.47 * -0.336, 0], 1e-5, 1e-7);
    expectClose(grads.W_dec, [0.52 * -0.416, 0.52 * -0.108, 0, 0], 1e-5, 1e-7);
    expectClose(grads.b_dec, [-0.416, -0.108], 1e-5);
  });

  it("target-l0: the step term acts through H(f − θ) (unit 1 has f = 0, out of the band), θ trained directly", () => {
    // L0 = 1, target 2, λσ = 1: ∂/∂L0 (L0/2 − 1)² = −0.5, per unit in the band −0.5·(−1/ε) = +5
    const { grads, l0 } = passGradients(params, x, 1, 0.1, { coefficient: (2 * (1 / 2 - 1)) / 2, of: "features" }, "threshold");
    expect(l0).toBe(1);
    expectClose(grads.threshold, [1.68 + 5, 1.34], 1e-5);
    expectClose(grads.b_enc, [-0.336, 0], 1e-5, 1e-7);
  });

  it("units outside the band get no θ gradient", () => {
    const far = { ...params, threshold: Float32Array.from([0.3, 0.9]) }; // z − θ = 0.22, −0.43
    const { grads } = passGradients(far, x, 1, 0.1, { coefficient: 0.2, of: "preactivations" }, "threshold");
    expect(Array.from(grads.threshold)).toEqual([0, 0]);
  });
});

describe("JumpReLU pass against float64", () => {
  const dIn = 5;
  const dSae = 12;
  const B = 16;
  const x = uniformArray(B * dIn, 31);
  const params: JumpReluParams = {
    W_enc: uniformArray(dIn * dSae, 32, 0.6),
    b_enc: uniformArray(dSae, 33, 0.2),
    W_dec: uniformArray(dSae * dIn, 34, 0.6),
    b_dec: uniformArray(dIn, 35, 0.3),
    threshold: uniformArray(dSae, 36, 0.25).map((value) => Math.abs(value) + 0.01),
  };
  const params64 = to64(params);
  const epsilon = 0.2; // wide enough that many units sit in the band
  const { z } = forward64(params64, x, B);
  const H = 1e-6;

  it("the fixture has units active, inactive and inside the band on both sides of θ, none within 1e-4 of θ", () => {
    const offsets = Array.from(z, (value, k) => value - params64.threshold[k % dSae]);
    expect(offsets.filter((u) => u > epsilon / 2).length).toBeGreaterThan(5);
    expect(offsets.filter((u) => u < -epsilon / 2).length).toBeGreaterThan(5);
    expect(offsets.filter((u) => u > 0 && u < epsilon / 2).length).toBeGreaterThan(3);
    expect(offsets.filter((u) => u < 0 && u > -epsilon / 2).length).toBeGreaterThan(3);
    expect(Math.min(...offsets.map(Math.abs))).toBeGreaterThan(1e-4);
  });

  const cases: { name: string; sparsity: Sparsity64; parameter: ThresholdParameter }[] = [
    { name: "gdm (θ = exp ℓ)", sparsity: { kind: "gdm", coefficient: 0.05 }, parameter: "log_threshold" },
    { name: "target-l0 (θ direct)", sparsity: { kind: "target-l0", coefficient: 0.7, target: 3 }, parameter: "threshold" },
  ];
  for (const { name, sparsity, parameter } of cases) {
    describe(name, () => {
      const expected = loss64(params64, x, B, sparsity);
      const of = sparsity.kind === "gdm" ? "preactivations" : "features";
      const coefficient = sparsity.kind === "gdm" ? sparsity.coefficient / B : (sparsity.coefficient * 2 * (expected.l0 / sparsity.target - 1)) / (sparsity.target * B);
      const result = passGradients(params, x, B, epsilon, { coefficient, of }, parameter);

      it("MSE, L0 and features equal float64", () => {
        expect(result.mse).toBeCloseTo(expected.mse, 5);
        expect(result.l0).toBe(expected.l0);
        expectClose(result.pass.features, expected.forward.f, 1e-5, 1e-6);
      });

      it("the θ pseudo-gradient follows the spec's formula (∂ℓ = θ·∂θ where θ = exp ℓ)", () => {
        const theta = thresholdGrad64(params64, x, B, epsilon, sparsity);
        const trained = parameter === "log_threshold" ? theta.map((g, i) => g * params64.threshold[i]) : theta;
        expect(trained.filter((g) => Math.abs(g) > 1e-3).length).toBeGreaterThan(4);
        expectClose(result.grads.threshold, trained, 1e-4, 1e-6);
      });

      for (const tensor of WEIGHTS) {
        it(`∂L/∂${tensor} equals float64 central differences of the whole loss (H is flat there: ∂H/∂z = 0)`, () => {
          const numeric = centralDifferences(params64[tensor], () => loss64(params64, x, B, sparsity).loss, H);
          expect(numeric.some((value) => Math.abs(value) > 1e-2)).toBe(true);
          expectClose(result.grads[tensor], numeric, 2e-4, 2e-5);
        });
      }
    });
  }

  it("the L0 term trains θ only: the weights' gradients do not depend on its coefficient", () => {
    for (const of of ["preactivations", "features"] as const) {
      const without = passGradients(params, x, B, epsilon, { coefficient: 0, of }, "threshold");
      const withTerm = passGradients(params, x, B, epsilon, { coefficient: 0.3, of }, "threshold");
      for (const tensor of WEIGHTS) expect(withTerm.grads[tensor]).toEqual(without.grads[tensor]);
      // the θ gradients differ by 0.3·Σ_b (−1/ε)K((s − θ)/ε)
      const s = of === "features" ? forward64(params64, x, B).f : z;
      for (let i = 0; i < dSae; i++) {
        let inBand = 0;
        for (let b = 0; b < B; b++) if (Math.abs(s[b * dSae + i] - params64.threshold[i]) < epsilon / 2) inBand++;
        expect(withTerm.grads.threshold[i] - without.grads.threshold[i]).toBeCloseTo((0.3 * -inBand) / epsilon, 4);
      }
    }
  });
});

describe("JumpReluTrainer", () => {
  const dIn = 8;
  const dSae = 24;
  const B = 16;
  const jumprelu = (overrides: Record<string, unknown>, totalSteps: number) =>
    new JumpReluTrainer(jumpReluConfigSchema.parse({ trainer: "jumprelu", dSae, ...overrides }), { kernels: referenceKernels, dIn, totalSteps, batchSize: B });

  it("resolves the spec §2 table defaults and records them", () => {
    const gdm = jumprelu({}, 100).config;
    expect(gdm).toMatchObject({
      trainer: "jumprelu",
      architecture: "jumprelu",
      lr: 7e-5,
      adam: { beta1: 0, beta2: 0.999, eps: 1e-8 },
      decoder: { projectionEps: 1e-6, renormEps: 2 ** -23, clipGradNorm: 1 },
      sparsity: "gdm",
      lambda: 1e-3,
      targetL0: null,
      bandwidth: 0.001,
      initialThreshold: 0.001,
      thresholdParameter: "log_threshold",
      normalize: "unit-mean-squared-norm",
      lrWarmupSteps: 2, // ⌊1000·100/36,621⌋
      sparsityWarmupSteps: 5, // ⌊2000·100/36,621⌋
      deadTokens: Math.floor((10_000_000 * 100) / 36_621),
    });
    expect(jumprelu({ sparsity: "target-l0" }, 100).config).toMatchObject({ lambda: 1, targetL0: 20, thresholdParameter: "threshold" });
    expect(parseTrainerConfig({ trainer: "jumprelu", dSae: 4, normalize: "none" }, "trainers[0]")).toMatchObject({ trainer: "jumprelu", normalize: "none" });
    expect(() => jumprelu({ targetL0: 30 }, 100)).toThrow(/targetL0 = 30 applies only to sparsity "target-l0"/);
  });

  it("init: unit decoder rows, W_enc = W_decᵀ, zero biases, θ = exp(ln 0.001); equal seeds start identical", () => {
    const trainer = jumprelu({}, 100);
    for (const norm of rowNorms(trainer.params.W_dec, dIn)) expect(norm).toBeCloseTo(1, 6);
    for (let i = 0; i < dSae; i++) for (let j = 0; j < dIn; j++) expect(trainer.params.W_enc[j * dSae + i]).toBe(trainer.params.W_dec[i * dIn + j]);
    expect(trainer.params.b_enc.every((value) => value === 0) && trainer.params.b_dec.every((value) => value === 0)).toBe(true);
    expect(trainer.thresholdParameter.every((value) => value === Math.fround(Math.log(0.001)))).toBe(true);
    expect(trainer.params.threshold.every((value) => value === Math.fround(Math.exp(Math.fround(Math.log(0.001)))))).toBe(true);
    expect(jumprelu({}, 100).params).toEqual(trainer.params);
    expect(jumprelu({ seed: 7 }, 100).params.W_dec).not.toEqual(trainer.params.W_dec);
    // the unnormalised draws are Kaiming-uniform in ±√(6/d_in): a fresh stream reproduces row 0's direction
    const random = new SaeRandom(42);
    const row = Array.from({ length: dIn }, () => (random.uniform() * 2 - 1) * Math.sqrt(6 / dIn));
    const norm = Math.hypot(...row);
    for (let j = 0; j < dIn; j++) expect(trainer.params.W_dec[j]).toBeCloseTo(row[j] / norm, 6);
    expect(initJumpReluSae({ dIn, dSae }, 0.001, new SaeRandom(42)).W_dec).toEqual(trainer.params.W_dec);
  });

  for (const sparsity of ["gdm", "target-l0"] as const) {
    it(`${sparsity}: each step's loss terms equal float64 on the pre-step weights; decoder rows stay unit-norm; the gradient is clipped`, () => {
      const trainer = jumprelu({ sparsity, lambda: sparsity === "gdm" ? 0.01 : 0.5, targetL0: sparsity === "gdm" ? undefined : 4, lr: 1e-2, sparsityWarmupSteps: 3, bandwidth: 0.05, initialThreshold: 0.1 }, 40);
      for (let step = 0; step < 8; step++) {
        const batch = uniformArray(B * dIn, 700 + step);
        const before = to64(trainer.params);
        const coefficient = (sparsity === "gdm" ? 0.01 : 0.5) * Math.min(step / 3, 1);
        const log = trainer.step(batch, B);
        const expected = loss64(before, batch, B, sparsity === "gdm" ? { kind: "gdm", coefficient } : { kind: "target-l0", coefficient, target: 4 });
        expect(log.sparsityScale).toBe(Math.min(step / 3, 1));
        expect(log.mse).toBeCloseTo(expected.mse, 5);
        expect(log.reconstruction).toBe(log.mse);
        expect(log.state.heavisideL0).toBe(expected.l0);
        expect(log.state.penalty).toBeCloseTo(expected.penalty, 10);
        expect(log.loss).toBeCloseTo(expected.loss, 5);
        const stats = trainer.batchStats(batch);
        expect(stats.l0).toBe(expected.forward.f.reduce((count, value) => count + (value !== 0 ? 1 : 0), 0) / B);
        for (const norm of rowNorms(trainer.params.W_dec, dIn)) expect(norm).toBeCloseTo(1, 6);
        expect(Number.isFinite(trainer.optimizer.lastGradNorm)).toBe(true);
      }
      expect(trainer.params.b_dec.some((value) => value !== 0)).toBe(true);
    });
  }

  it("gdm: θ = exp(ℓ) stays positive however far ℓ is pushed, and the inference SAE reads that θ", () => {
    const trainer = jumprelu({ lambda: 0, lr: 0.3, bandwidth: 2, lrWarmupSteps: 0 }, 60);
    let lowest = 0;
    for (let step = 0; step < 60; step++) {
      trainer.step(uniformArray(B * dIn, 800 + step, 0.5), B);
      for (let i = 0; i < dSae; i++) {
        expect(trainer.params.threshold[i]).toBeGreaterThan(0);
        expect(trainer.params.threshold[i]).toBe(Math.fround(Math.exp(trainer.thresholdParameter[i])));
        lowest = Math.min(lowest, trainer.thresholdParameter[i]);
      }
    }
    // θ fell e-fold below 0.001 by Adam steps of ~0.3 in ℓ; one such step taken on θ itself would have crossed 0
    expect(lowest).toBeLessThan(Math.log(0.001) - 1);
    expect(trainer.sae().params.threshold).toBe(trainer.params.threshold);
  });

  it("target-l0: θ is the trained tensor itself, pushed up while L0 is above target", () => {
    const trainer = jumprelu({ sparsity: "target-l0", targetL0: 1, lr: 1e-2, bandwidth: 0.5, initialThreshold: 0.05, lrWarmupSteps: 0, sparsityWarmupSteps: 0 }, 30);
    expect(trainer.thresholdParameter).toBe(trainer.params.threshold);
    const first = trainer.step(uniformArray(B * dIn, 900, 2), B);
    expect(first.state.heavisideL0).toBeGreaterThan(1);
    for (let step = 1; step < 30; step++) trainer.step(uniformArray(B * dIn, 900 + step, 2), B);
    expect(trainer.trainerState().thresholdMean).toBeGreaterThan(0.05);
  });

  it("the inference SAE (jumprelu, b_dec not applied) reproduces the training forward pass bit for bit", () => {
    const trainer = jumprelu({ lr: 1e-2, bandwidth: 0.05, initialThreshold: 0.1 }, 20);
    for (let step = 0; step < 5; step++) trainer.step(uniformArray(B * dIn, 950 + step), B);
    const batch = uniformArray(B * dIn, 999);
    const pass = new JumpReluPass(referenceKernels, { dIn, dSae }, 0.05);
    pass.forward(trainer.params, batch, B);
    expect(trainer.sae().spec).toMatchObject({ architecture: "jumprelu", applyBDecToInput: false });
    expect(trainer.sae().encode(batch, B)).toEqual(pass.features);
    expect(trainer.sae().decode(pass.features, B)).toEqual(pass.reconstruction);
  });

  for (const sparsity of ["gdm", "target-l0"] as const) {
    it(`${sparsity}: state() → restore() (also through the checkpoint files) continues bit-identically`, async () => {
      const make = () => jumprelu({ sparsity, lr: 1e-2, bandwidth: 0.1, initialThreshold: 0.05 }, 20);
      const straight = make();
      const interrupted = make();
      for (const trainer of [straight, interrupted]) trainer.params.b_enc.fill(-100, 0, 3); // features 0–2 never fire
      for (let step = 0; step < 20; step++) straight.step(uniformArray(B * dIn, 1000 + step), B);
      for (let step = 0; step < 9; step++) interrupted.step(uniformArray(B * dIn, 1000 + step), B);
      const dir = await mkdtemp(path.join(os.tmpdir(), "jumprelu-"));
      try {
        await writeTrainerCheckpoint(path.join(dir, "step-9"), interrupted.state());
        const resumed = make();
        resumed.restore(await readTrainerCheckpoint(path.join(dir, "step-9")));
        expect(resumed.stepsDone).toBe(9);
        for (let step = 9; step < 20; step++) resumed.step(uniformArray(B * dIn, 1000 + step), B);
        expect(resumed.params).toEqual(straight.params);
        expect(resumed.state()).toEqual(straight.state());
        expect(resumed.trainerState()).toEqual(straight.trainerState());
        expect(Array.from(straight.stepsSinceFired.subarray(0, 3))).toEqual([20, 20, 20]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it("restore() refuses a checkpoint of the other sparsity mode or another trainer", () => {
    const gdm = jumprelu({}, 10).state();
    expect(() => jumprelu({ sparsity: "target-l0" }, 10).restore(gdm)).toThrow(/sparsity "gdm" cannot restore one with sparsity "target-l0"/);
    expect(() => jumprelu({}, 10).restore({ ...gdm, values: { ...gdm.values, trainer: "standard" } })).toThrow(TrainerStateError);
    const { log_threshold: _dropped, ...tensors } = gdm.tensors;
    expect(() => jumprelu({}, 10).restore({ ...gdm, tensors })).toThrow(/checkpoint tensor log_threshold is missing/);
  });
});

describe("jumprelu inference encode (sae/params.ts) against float64", () => {
  const dIn = 6;
  const dSae = 10;
  const B = 12;
  const x = uniformArray(B * dIn, 51);
  const params: SaeParams = {
    W_enc: uniformArray(dIn * dSae, 52, 0.6),
    b_enc: uniformArray(dSae, 53, 0.2),
    W_dec: uniformArray(dSae * dIn, 54, 0.6),
    b_dec: uniformArray(dIn, 55, 0.4),
    threshold: uniformArray(dSae, 56, 0.3).map(Math.abs),
  };

  /** f = ReLU(z)·1[z > θ], z = (x − [b_dec])·W_enc + b_enc, and x̂ = f·W_dec + b_dec, in float64. */
  function reference(threshold: Float32Array, applyBDecToInput: boolean) {
    const f = new Float64Array(B * dSae);
    const xHat = new Float64Array(B * dIn);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < dSae; i++) {
        let z = params.b_enc![i];
        for (let j = 0; j < dIn; j++) z += (x[b * dIn + j] - (applyBDecToInput ? params.b_dec[j] : 0)) * params.W_enc[j * dSae + i];
        f[b * dSae + i] = z > threshold[i] && z > 0 ? z : 0;
      }
      for (let j = 0; j < dIn; j++) {
        let sum = params.b_dec[j];
        for (let i = 0; i < dSae; i++) sum += f[b * dSae + i] * params.W_dec[i * dIn + j];
        xHat[b * dIn + j] = sum;
      }
    }
    return { f, xHat };
  }

  for (const applyBDecToInput of [false, true]) {
    it(`apply_b_dec_to_input ${applyBDecToInput}: f = z·1[z > θ], some features cut by θ`, () => {
      const sae = createSae(referenceKernels, { architecture: "jumprelu", dIn, dSae, applyBDecToInput }, params);
      const expected = reference(params.threshold!, applyBDecToInput);
      const relu = reference(new Float32Array(dSae), applyBDecToInput).f;
      const cut = relu.filter((value, k) => value > 0 && expected.f[k] === 0).length;
      expect(cut).toBeGreaterThan(3);
      expect(expected.f.filter((value) => value > 0).length).toBeGreaterThan(10);
      const features = sae.encode(x, B);
      expectClose(features, expected.f, 1e-5, 1e-6);
      expectClose(sae.decode(features, B), expected.xHat, 1e-5, 1e-6);
    });
  }

  it("the two settings differ exactly by b_dec entering the encoder", () => {
    const without = createSae(referenceKernels, { architecture: "jumprelu", dIn, dSae, applyBDecToInput: false }, params).encode(x, B);
    const shifted = x.map((value, k) => value + params.b_dec[k % dIn]);
    const withBDec = createSae(referenceKernels, { architecture: "jumprelu", dIn, dSae, applyBDecToInput: true }, params).encode(shifted, B);
    expectClose(withBDec, without, 1e-5, 1e-6);
  });

  it("a negative θ (BatchTopK's θ before it is set is −1) gives ReLU(z), never a negative feature", () => {
    const negative = { ...params, threshold: new Float32Array(dSae).fill(-1) };
    const features = createSae(referenceKernels, { architecture: "jumprelu", dIn, dSae, applyBDecToInput: true }, negative).encode(x, B);
    expect(features.every((value) => value >= 0)).toBe(true);
    expectClose(features, reference(new Float32Array(dSae), true).f, 1e-5, 1e-6);
  });
});
