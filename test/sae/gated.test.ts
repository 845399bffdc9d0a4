// Gated SAEs (spec sae.md §2.3, §2.4): every gradient of the gated and gated-anneal losses against float64 central
// differences of a loop-by-loop reference (the step 1[π_gate > 0] passing no gradient, the auxiliary term's
// stop-gradient on W_dec and b_dec), the init, the inference encode, the trainers end to end (LR 0 at step 0, loss
// terms per step, unit-norm decoder rows, bit-identical resume), the p/α schedule against p_anneal's and the spec's
// rule, and recovery of a known sparse dictionary from superposition toy data.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { selectKernels } from "../../compute/select.js";
import { lpSparsity } from "../../sae/anneal.js";
import { createSae } from "../../sae/params.js";
import { SaeRandom } from "../../sae/random.js";
import { gatedAnnealConfigSchema, GatedAnnealTrainer } from "../../sae/trainers/gated-anneal.js";
import { GATED_SAE_PARAM_NAMES, GatedSaePass, initGatedSae, zeroGatedSaeParams, type GatedSaeParams } from "../../sae/trainers/gated-sae.js";
import { gatedConfigSchema, GatedTrainer } from "../../sae/trainers/gated.js";
import { createTrainer, parseTrainerConfig } from "../../sae/trainers/index.js";
import { pAnnealConfigSchema, PAnnealTrainer } from "../../sae/trainers/p-anneal.js";
import { TrainerStateError } from "../../sae/trainers/trainer.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { centralDifferences, fve64, meanMaxCosine, penalty64, rowNorms, sparseDictionary, uniformArray, type Sparsity64 } from "./reference.js";

type Gated64 = Record<(typeof GATED_SAE_PARAM_NAMES)[number], Float64Array>;

function toFloat64(params: GatedSaeParams): Gated64 {
  return Object.fromEntries(GATED_SAE_PARAM_NAMES.map((name) => [name, Float64Array.from(params[name])])) as Gated64;
}

interface GatedForward64 {
  piGate: Float64Array; // [B, dSae]
  piMag: Float64Array; // [B, dSae]
  gate: Float64Array; // [B, dSae] ReLU(π_gate)
  f: Float64Array; // [B, dSae]
  xHat: Float64Array; // [B, dIn]
  xHatGate: Float64Array; // [B, dIn]
}

/**
 * spec §2.3, loop by loop: u = (x − b_dec)W_enc, π_gate = u + b_gate, π_mag = u·exp(r_mag) + b_mag,
 * f = 1[π_gate > 0]·ReLU(π_mag), x̂ = f·W_dec + b_dec, x̂_gate = ReLU(π_gate)·W̄_dec + b̄_dec where W̄_dec, b̄_dec come
 * from `frozen` (the stop-gradient: a finite difference moves p but not frozen).
 */
function forward64(p: Gated64, x: ArrayLike<number>, B: number, dIn: number, dSae: number, frozen: Gated64 = p): GatedForward64 {
  const out = {
    piGate: new Float64Array(B * dSae), piMag: new Float64Array(B * dSae), gate: new Float64Array(B * dSae),
    f: new Float64Array(B * dSae), xHat: new Float64Array(B * dIn), xHatGate: new Float64Array(B * dIn),
  };
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < dSae; i++) {
      let u = 0;
      for (let j = 0; j < dIn; j++) u += (x[b * dIn + j] - p.b_dec[j]) * p.W_enc[j * dSae + i];
      const piGate = u + p.b_gate[i];
      const piMag = u * Math.exp(p.r_mag[i]) + p.b_mag[i];
      out.piGate[b * dSae + i] = piGate;
      out.piMag[b * dSae + i] = piMag;
      out.gate[b * dSae + i] = Math.max(0, piGate);
      out.f[b * dSae + i] = (piGate > 0 ? 1 : 0) * Math.max(0, piMag);
    }
    for (let j = 0; j < dIn; j++) {
      let xHat = p.b_dec[j];
      let xHatGate = frozen.b_dec[j];
      for (let i = 0; i < dSae; i++) {
        xHat += out.f[b * dSae + i] * p.W_dec[i * dIn + j];
        xHatGate += out.gate[b * dSae + i] * frozen.W_dec[i * dIn + j];
      }
      out.xHat[b * dIn + j] = xHat;
      out.xHatGate[b * dIn + j] = xHatGate;
    }
  }
  return out;
}

function meanSquaredError(x: ArrayLike<number>, y: ArrayLike<number>, B: number): number {
  let total = 0;
  for (let i = 0; i < y.length; i++) total += (x[i] - y[i]) ** 2;
  return total / B;
}

/** L = R + coefficient·S(ReLU(π_gate)) + A (spec §2.3, §2.4), each term also returned. */
function loss64(p: Gated64, x: ArrayLike<number>, B: number, dIn: number, dSae: number, sparsity: Sparsity64, frozen: Gated64 = p) {
  const forward = forward64(p, x, B, dIn, dSae, frozen);
  const reconstruction = meanSquaredError(x, forward.xHat, B);
  const auxiliary = meanSquaredError(x, forward.xHatGate, B);
  const penalty = penalty64(forward.gate, B, dSae, sparsity.kind, sparsity.kind === "l1" ? 1 : sparsity.p);
  return { loss: reconstruction + sparsity.coefficient * penalty + auxiliary, reconstruction, auxiliary, penalty, forward };
}


const shape = { dIn: 6, dSae: 10 };
const B = 8;

/** Untied random parameters with non-zero biases and magnitude rates, so every gradient term is exercised. */
function randomParams(seed: number): GatedSaeParams {
  return {
    W_enc: uniformArray(shape.dIn * shape.dSae, seed, 0.6),
    b_gate: uniformArray(shape.dSae, seed + 1, 0.3),
    b_mag: uniformArray(shape.dSae, seed + 2, 0.3),
    r_mag: uniformArray(shape.dSae, seed + 3, 0.5),
    W_dec: uniformArray(shape.dSae * shape.dIn, seed + 4, 0.6),
    b_dec: uniformArray(shape.dIn, seed + 5, 0.3),
  };
}

/** The pass's gradients of L, driven the way the trainers drive it. */
function passGradients(params: GatedSaeParams, x: Float32Array, sparsity: Sparsity64) {
  const pass = new GatedSaePass(referenceKernels, shape);
  const grads = zeroGatedSaeParams(shape);
  pass.forward(params, x, B);
  const { reconstruction, auxiliary } = pass.losses(x);
  let penalty: number;
  if (sparsity.kind === "l1") {
    penalty = penalty64(pass.gate, B, shape.dSae, "l1");
    pass.backward(params, grads, { l1PerRow: sparsity.coefficient / B, gateGradFilled: false });
  } else {
    penalty = lpSparsity(pass.gate, B, shape.dSae, sparsity.p, null, sparsity.kind, sparsity.coefficient, pass.gateGrad).value;
    pass.backward(params, grads, { l1PerRow: 0, gateGradFilled: true });
  }
  return { grads, reconstruction, auxiliary, penalty, pass };
}

describe("gated SAE loss gradients against float64 central differences", () => {
  const x = uniformArray(B * shape.dIn, 41);
  const params = randomParams(51);
  const params64 = toFloat64(params);
  const frozen = toFloat64(params); // sg(W_dec), sg(b_dec): never perturbed
  const { piGate, piMag } = forward64(params64, x, B, shape.dIn, shape.dSae);
  const loss = (sparsity: Sparsity64) => () => loss64(params64, x, B, shape.dIn, shape.dSae, sparsity, frozen).loss;

  it("the fixture sits away from the gate's step and both ReLU kinks, with every branch taken", () => {
    // a perturbation by h moves π_gate or π_mag by at most h·max(|x − b_dec|, |u|)·exp(0.5) < 5h
    expect(Math.min(...Array.from(piGate, Math.abs))).toBeGreaterThan(2e-3);
    expect(Math.min(...Array.from(piMag, Math.abs))).toBeGreaterThan(2e-3);
    const open = (i: number) => piGate[i] > 0;
    expect(piGate.some((_, i) => open(i) && piMag[i] > 0)).toBe(true); // f > 0
    expect(piGate.some((_, i) => open(i) && piMag[i] < 0)).toBe(true); // open gate, zero magnitude
    expect(piGate.some((_, i) => !open(i) && piMag[i] > 0)).toBe(true); // closed gate masks a positive magnitude
    expect(piGate.some((_, i) => !open(i))).toBe(true);
  });

  const cases: { name: string; sparsity: Sparsity64 }[] = [
    { name: "gated, L1", sparsity: { kind: "l1", coefficient: 0.3 } },
    { name: "gated_anneal, Lp^p p = 0.6", sparsity: { kind: "Lp^p", p: 0.6, coefficient: 0.2 } },
    { name: "gated_anneal, Lp^p p = 0.2889", sparsity: { kind: "Lp^p", p: 0.2889, coefficient: 0.05 } },
    { name: "gated_anneal, Lp p = 0.5", sparsity: { kind: "Lp", p: 0.5, coefficient: 0.2 } },
  ];
  for (const { name, sparsity } of cases) {
    describe(name, () => {
      const result = passGradients(params, x, sparsity);
      const expected = loss64(params64, x, B, shape.dIn, shape.dSae, sparsity);

      it("returns the float64 loss terms", () => {
        expect(result.reconstruction).toBeCloseTo(expected.reconstruction, 5);
        expect(result.auxiliary).toBeCloseTo(expected.auxiliary, 5);
        expect(result.penalty).toBeCloseTo(expected.penalty, 5);
        expect(Math.min(expected.reconstruction, expected.auxiliary, expected.penalty)).toBeGreaterThan(0);
      });

      for (const tensor of GATED_SAE_PARAM_NAMES) {
        it(`∂L/∂${tensor}`, () => {
          const numeric = centralDifferences(params64[tensor], loss(sparsity));
          expect(numeric.some((value) => Math.abs(value) > 1e-2)).toBe(true);
          expectClose(result.grads[tensor], numeric, 2e-4, 2e-5);
        });
      }
    });
  }

  describe("which term trains which parameter", () => {
    const l1: Sparsity64 = { kind: "l1", coefficient: 0.3 };
    const none: Sparsity64 = { kind: "l1", coefficient: 0 };
    const term = (name: "reconstruction" | "auxiliary" | "penalty") => () => loss64(params64, x, B, shape.dIn, shape.dSae, l1, frozen)[name];
    const zero = (values: ArrayLike<number>) => Array.from(values).every((value) => value === 0);

    it("the step 1[π_gate > 0] passes no gradient: R gives b_gate nothing, and W_enc only through π_mag", () => {
      expect(zero(centralDifferences(params64.b_gate, term("reconstruction")))).toBe(true);
      // switch the magnitude path off (exp(r_mag) ≈ 1e-26, f = 0.5·1[π_gate > 0]): R still depends on the gates ...
      const gateOnly: GatedSaeParams = { ...params, r_mag: new Float32Array(shape.dSae).fill(-60), b_mag: new Float32Array(shape.dSae).fill(0.5) };
      const gateOnly64 = toFloat64(gateOnly);
      const reconstruction = () => loss64(gateOnly64, x, B, shape.dIn, shape.dSae, none).reconstruction;
      const closed = toFloat64({ ...gateOnly, b_gate: new Float32Array(shape.dSae).fill(-100) });
      expect(Math.abs(reconstruction() - loss64(closed, x, B, shape.dIn, shape.dSae, none).reconstruction)).toBeGreaterThan(0.1);
      // ... yet the pass's W_enc and b_gate gradients are A's alone
      const grads = passGradients(gateOnly, x, none).grads;
      const auxiliary = () => loss64(gateOnly64, x, B, shape.dIn, shape.dSae, none, toFloat64(gateOnly)).auxiliary;
      for (const tensor of ["W_enc", "b_gate"] as const) {
        const numeric = centralDifferences(gateOnly64[tensor], auxiliary);
        expect(numeric.some((value) => Math.abs(value) > 1e-2)).toBe(true);
        expectClose(grads[tensor], numeric, 2e-4, 2e-5);
      }
    });

    it("b_gate learns from the sparsity and auxiliary terms alone; b_mag and r_mag from R alone", () => {
      const withoutSparsity = passGradients(params, x, none).grads;
      expectClose(withoutSparsity.b_gate, centralDifferences(params64.b_gate, term("auxiliary")), 2e-4, 2e-5);
      const sparsityOnly = centralDifferences(params64.b_gate, term("penalty"));
      const withSparsity = passGradients(params, x, l1).grads;
      const difference = withSparsity.b_gate.map((value, i) => value - withoutSparsity.b_gate[i]);
      expectClose(difference, sparsityOnly.map((value) => 0.3 * value), 2e-4, 2e-5);
      for (const tensor of ["b_mag", "r_mag"] as const) {
        expect(zero(centralDifferences(params64[tensor], term("auxiliary")))).toBe(true);
        expect(zero(centralDifferences(params64[tensor], term("penalty")))).toBe(true);
      }
    });

    it("stop-gradient: W_dec learns from R alone, unlike the same loss without sg", () => {
      const grads = passGradients(params, x, none).grads;
      expectClose(grads.W_dec, centralDifferences(params64.W_dec, term("reconstruction")), 2e-4, 2e-5);
      const unstopped = centralDifferences(params64.W_dec, () => loss64(params64, x, B, shape.dIn, shape.dSae, none).loss);
      const gap = Math.max(...Array.from(unstopped, (value, i) => Math.abs(value - grads.W_dec[i])));
      expect(gap).toBeGreaterThan(1e-2);
      // b_dec: R's output term plus every term's encoder-input term, but not A's output term
      const unstoppedBias = centralDifferences(params64.b_dec, () => loss64(params64, x, B, shape.dIn, shape.dSae, none).loss);
      expect(Math.max(...Array.from(unstoppedBias, (value, i) => Math.abs(value - grads.b_dec[i])))).toBeGreaterThan(1e-2);
    });
  });
});

describe("spec §2.3 init", () => {
  const big = { dIn: 16, dSae: 24 };

  it('"tied": unit decoder rows, W_enc = W_decᵀ, b_gate = b_mag = r_mag = b_dec = 0', () => {
    const params = initGatedSae(big, "tied", new SaeRandom(3));
    for (const norm of rowNorms(params.W_dec, big.dIn)) expect(norm).toBeCloseTo(1, 6);
    for (let i = 0; i < big.dSae; i++) for (let j = 0; j < big.dIn; j++) expect(params.W_enc[j * big.dSae + i]).toBe(params.W_dec[i * big.dIn + j]);
    for (const name of ["b_gate", "b_mag", "r_mag", "b_dec"] as const) expect(params[name].every((value) => value === 0)).toBe(true);
    expect(new Set(params.W_dec).size).toBe(big.dSae * big.dIn);
  });

  it('"paper": W_enc independent in ±1/√d_in', () => {
    const params = initGatedSae(big, "paper", new SaeRandom(3));
    for (const norm of rowNorms(params.W_dec, big.dIn)) expect(norm).toBeCloseTo(1, 6);
    expect(params.W_enc.every((value) => Math.abs(value) <= 1 / Math.sqrt(big.dIn))).toBe(true);
    expect(Math.max(...Array.from(params.W_enc, Math.abs))).toBeGreaterThan(0.9 / Math.sqrt(big.dIn));
    expect(params.W_dec).toEqual(initGatedSae(big, "tied", new SaeRandom(3)).W_dec);
  });
});

describe("inference encode (sae/params.ts, architecture gated)", () => {
  const params = randomParams(61);
  const x = uniformArray(B * shape.dIn, 62);
  const sae = createSae(referenceKernels, { architecture: "gated", ...shape, applyBDecToInput: true }, params);

  it("f = 1[π_gate > 0]·ReLU(π_mag) and x̂ = f·W_dec + b_dec equal float64", () => {
    const expected = forward64(toFloat64(params), x, B, shape.dIn, shape.dSae);
    const features = sae.encode(x, B);
    expectClose(features, expected.f, 1e-5, 1e-6);
    expect(expected.f.some((value) => value > 0)).toBe(true);
    expect(expected.piMag.some((value, i) => value > 0 && expected.piGate[i] <= 0)).toBe(true); // gated off
    expectClose(sae.decode(features, B), expected.xHat, 1e-5, 1e-6);
  });

  it("is exactly the training forward pass's f", () => {
    const pass = new GatedSaePass(referenceKernels, shape);
    pass.forward(params, x, B);
    expect(sae.encode(x, B)).toEqual(pass.features);
  });
});

const dIn = 8;
const dSae = 24;
const batch = 16;

function gated(overrides: Record<string, unknown>, totalSteps: number): GatedTrainer {
  return new GatedTrainer(gatedConfigSchema.parse({ trainer: "gated", dSae, ...overrides }), { kernels: referenceKernels, dIn, totalSteps, batchSize: batch });
}

function gatedAnneal(overrides: Record<string, unknown>, totalSteps: number): GatedAnnealTrainer {
  return new GatedAnnealTrainer(gatedAnnealConfigSchema.parse({ trainer: "gated_anneal", dSae, ...overrides }), {
    kernels: referenceKernels, dIn, totalSteps, batchSize: batch,
  });
}

describe("gated trainers: config and registration", () => {
  it("spec §2 table: Adam (0, 0.999), lr 5e-5 / 3e-4, ConstrainedAdam without clipping, squared recon, tied init", () => {
    const context = { kernels: referenceKernels, dIn, totalSteps: 7325, batchSize: batch }; // S_ref/5: W_lr 200, W_sp 400
    const plain = createTrainer(parseTrainerConfig({ trainer: "gated", dSae }, "trainers[0]"), context);
    const annealed = createTrainer(parseTrainerConfig({ trainer: "gated_anneal", dSae }, "trainers[1]"), context);
    expect(plain).toBeInstanceOf(GatedTrainer);
    expect(annealed).toBeInstanceOf(GatedAnnealTrainer);
    for (const [trainer, lr] of [[plain, 5e-5], [annealed, 3e-4]] as const) {
      expect(trainer.config).toMatchObject({
        architecture: "gated", lr, adam: { beta1: 0, beta2: 0.999, eps: 1e-8 }, recon: "l2sq", init: "tied",
        decoder: { projectionEps: 0, renormEps: 0, clipGradNorm: null }, lrWarmupSteps: 200, sparsityWarmupSteps: 400,
      });
      expect(trainer.sae().spec).toEqual({ architecture: "gated", dIn, dSae, applyBDecToInput: true });
    }
    expect(annealed.config).toMatchObject({ alpha: 0.1, pStart: 1, pEnd: 0.2, annealStart: 2000, annealEnd: 7325, nUpdates: 10, queueLength: 10, sparsityFunction: "Lp^p" });
    expect((plain.config as GatedTrainer["config"]).lambda).toBe(0.1);
  });

  it('the paper-era preset: untied "paper" init and no sparsity warm-up, recon still squared', () => {
    const trainer = gated({ preset: "paper-era" }, 7325);
    expect(trainer.config).toMatchObject({ init: "paper", sparsityWarmupSteps: 0, recon: "l2sq" });
    expect(() => gatedConfigSchema.parse({ trainer: "gated", dSae, recon: "l2" })).toThrow();
    expect(() => gatedConfigSchema.parse({ trainer: "gated", dSae, resampleSteps: 10 })).toThrow();
  });
});

describe("GatedTrainer", () => {
  it("step 0 runs at LR 0: the weights stay (decoder rows already unit), the Adam moments move", () => {
    const trainer = gated({ lambda: 0.2 }, 100);
    expect(gated({ lambda: 0.2 }, 100).params).toEqual(trainer.params); // same seed (42) and shape: identical start
    const initial = structuredClone(trainer.params);
    const log = trainer.step(uniformArray(batch * dIn, 5), batch);
    expect(log.lr).toBe(0);
    expect(log.sparsityScale).toBe(0);
    for (const name of ["W_enc", "b_gate", "b_mag", "r_mag", "b_dec"] as const) expect(trainer.params[name]).toEqual(initial[name]);
    expectClose(trainer.params.W_dec, initial.W_dec, 1e-6);
    const state = trainer.state();
    for (const name of GATED_SAE_PARAM_NAMES) expect(state.tensors[`adam.v.${name}`].some((value) => value !== 0), name).toBe(true);
    expect(state.values.adamSteps).toBe(1);
    // β1 = 0: m is exactly this step's gradient (σ(0) = 0: R + A only)
    const pass = new GatedSaePass(referenceKernels, { dIn, dSae });
    const grads = zeroGatedSaeParams({ dIn, dSae });
    pass.forward(initial, uniformArray(batch * dIn, 5), batch);
    pass.losses(uniformArray(batch * dIn, 5));
    pass.backward(initial, grads, { l1PerRow: 0, gateGradFilled: false });
    for (const name of ["W_enc", "b_gate", "b_mag", "r_mag", "b_dec"] as const) expect(state.tensors[`adam.m.${name}`], name).toEqual(grads[name]);
    expect(trainer.step(uniformArray(batch * dIn, 6), batch).lr).toBeCloseTo(5e-5 / 2, 15); // W_lr = ⌊1000·100/36,621⌋ = 2
  });

  it("each step's loss terms, L0 and FVE equal float64 on the pre-step weights", () => {
    const trainer = gated({ lambda: 0.3, lr: 1e-2, sparsityWarmupSteps: 4 }, 40);
    for (let step = 0; step < 8; step++) {
      const x = uniformArray(batch * dIn, 100 + step);
      const before = toFloat64(trainer.params);
      const sigma = Math.min(step / 4, 1);
      const log = trainer.step(x, batch);
      const expected = loss64(before, x, batch, dIn, dSae, { kind: "l1", coefficient: 0.3 * sigma });
      expect(log.loss).toBeCloseTo(expected.loss, 5);
      expect(log.reconstruction).toBeCloseTo(expected.reconstruction, 5);
      expect(log.mse).toBeCloseTo(expected.reconstruction, 5);
      expect(log.state.auxiliary).toBeCloseTo(expected.auxiliary, 5);
      expect(log.state.l1).toBeCloseTo(expected.penalty, 5);
      expect(log.sparsity).toBeCloseTo(0.3 * sigma * expected.penalty, 5);
      const stats = trainer.batchStats(x);
      expect(stats.l0).toBe(expected.forward.f.reduce((count, value) => count + (value > 0 ? 1 : 0), 0) / batch);
      expect(stats.l0).toBeGreaterThan(0);
      expect(stats.fve).toBeCloseTo(fve64(x, expected.forward.xHat, batch, dIn), 5);
    }
  });

  for (const name of ["gated", "gated_anneal"] as const) {
    it(`${name}: decoder rows have unit norm after every step`, () => {
      const trainer = name === "gated" ? gated({ lambda: 0.5, lr: 3e-2 }, 30) : gatedAnneal({ alpha: 0.5, lr: 3e-2 }, 30);
      for (let step = 0; step < 30; step++) {
        trainer.step(uniformArray(batch * dIn, 200 + step, 2), batch);
        for (const norm of rowNorms(trainer.params.W_dec, dIn)) expect(norm).toBeCloseTo(1, 6);
      }
      expect(trainer.params.r_mag.some((value) => value !== 0)).toBe(true);
    });

    it(`${name}: state() → restore() into a fresh trainer continues bit-identically`, () => {
      const make = () => (name === "gated" ? gated({ lambda: 0.3, lr: 1e-2 }, 40) : gatedAnneal({ alpha: 0.1, lr: 1e-2 }, 40));
      const straight = make();
      const interrupted = make();
      for (let step = 0; step < 40; step++) straight.step(uniformArray(batch * dIn, 300 + step), batch);
      for (let step = 0; step < 15; step++) interrupted.step(uniformArray(batch * dIn, 300 + step), batch);
      const resumed = make();
      resumed.restore(interrupted.state());
      expect(resumed.stepsDone).toBe(15);
      for (let step = 15; step < 40; step++) resumed.step(uniformArray(batch * dIn, 300 + step), batch);
      for (const tensor of GATED_SAE_PARAM_NAMES) expect(resumed.params[tensor]).toEqual(straight.params[tensor]);
      expect(resumed.state()).toEqual(straight.state());
      expect(resumed.trainerState()).toEqual(straight.trainerState());
    });
  }

  it("restore() rejects a checkpoint of another shape or trainer, naming the entry", () => {
    const checkpoint = gated({}, 10).state();
    const wider = new GatedTrainer(gatedConfigSchema.parse({ trainer: "gated", dSae: dSae + 1 }), { kernels: referenceKernels, dIn, totalSteps: 10, batchSize: batch });
    expect(() => wider.restore(checkpoint)).toThrow(/checkpoint tensor W_enc has 192 elements, expected 200/);
    expect(() => gatedAnneal({}, 10).restore(checkpoint)).toThrow(TrainerStateError);
    const anneal = gatedAnneal({}, 10).state();
    const { pAnneal: _dropped, ...values } = anneal.values;
    expect(() => gatedAnneal({}, 10).restore({ ...anneal, values })).toThrow(/checkpoint value pAnneal/);
  });
});

describe("gated_anneal: p/α schedule on a short run (S = 40, n = 10) against p_anneal and the spec's rule", () => {
  const S = 40;
  const initialAlpha = 0.05;
  const trainer = gatedAnneal({ alpha: initialAlpha, lr: 1e-2 }, S);
  const reference = new PAnnealTrainer(pAnnealConfigSchema.parse({ trainer: "p_anneal", dSae, alpha: initialAlpha, lr: 1e-2 }), {
    kernels: referenceKernels, dIn, totalSteps: S, batchSize: batch,
  });
  const U = [10, 13, 16, 20, 23, 26, 30, 33, 36, 40]; // trunc(10 + k·30/9), anneal_start = ⌊10,000·40/36,621⌋
  const P = (k: number) => (k === 9 ? 0.2 : 1 + (k * (0.2 - 1)) / 9);
  const rows: { step: number; p: number; alpha: number; expectedAlpha: number; sp: number; expectedSp: number; sparsity: number; sigma: number }[] = [];
  const schedules: { gated: [number | null, number | null]; pAnneal: [number | null, number | null] }[] = [];
  // the spec's rule (§2.2 steps 2–3) with this test's own bookkeeping, on float64 S_p of the gate
  let alpha = initialAlpha;
  let queue: [number, number][] = [];
  let k = 0;
  let nextP: number | null = null;
  for (let step = 0; step < S; step++) {
    const x = uniformArray(batch * dIn, 1000 + step);
    const gate = forward64(toFloat64(trainer.params), x, batch, dIn, dSae).gate; // the gate this step's loss sees
    const log = trainer.step(x, batch);
    const referenceLog = reference.step(x, batch);
    schedules.push({ gated: [log.state.p, log.state.next_p], pAnneal: [referenceLog.state.p, referenceLog.state.next_p] });
    const p = log.state.p!;
    const expectedSp = penalty64(gate, batch, dSae, "Lp^p", p);
    rows.push({ step, p, alpha: log.state.alpha!, expectedAlpha: alpha, sp: log.state.S_p!, expectedSp, sparsity: log.sparsity, sigma: Math.min(step / 2, 1) });
    if (nextP !== null) {
      queue.push([expectedSp, penalty64(gate, batch, dSae, "Lp^p", nextP)]);
      queue = queue.slice(-10);
    }
    if (k < 10 && step === U[k]) {
      if (nextP !== null) alpha *= queue.reduce((sum, [value]) => sum + value, 0) / queue.reduce((sum, [, next]) => sum + next, 0);
      nextP = k < 9 ? P(k + 1) : 0.2;
      k++;
    }
  }

  it("p and next_p at every step are exactly p_anneal's", () => {
    for (const [step, { gated: ours, pAnneal }] of schedules.entries()) expect(ours, `step ${step}`).toEqual(pAnneal);
    expect(new Set(rows.map((row) => row.p)).size).toBe(9); // 1 and P[1..8]
  });

  it("each step's loss uses that step's p and α: S_p(ReLU(π_gate)) as float64, sparsity term = α·σ(s)·S_p", () => {
    for (const row of rows) {
      expect(row.sp / row.expectedSp - 1, `S_p at step ${row.step}`).toBeCloseTo(0, 5);
      expect(row.sparsity, `sparsity term at step ${row.step}`).toBeCloseTo(row.alpha * row.sigma * row.sp, 12);
    }
  });

  it("α follows the spec's rule, changing only on the step after updates U[1..8]; the last update never fires", () => {
    for (const row of rows) expect(row.alpha / row.expectedAlpha - 1, `α at step ${row.step}`).toBeCloseTo(0, 5);
    const changes = rows.filter((row, i) => i > 0 && row.alpha !== rows[i - 1].alpha).map((row) => row.step);
    expect(changes).toEqual([14, 17, 21, 24, 27, 31, 34, 37]);
    expect(rows[11].alpha).toBe(initialAlpha); // the first update (step 10) only armed next_p
    const { alpha: finalAlpha, ...rest } = trainer.trainerState();
    expect(rest).toEqual({ p: P(8), next_p: 0.2, k: 9 });
    expect(rest.p).toBe(reference.trainerState().p);
    expect(finalAlpha! / alpha - 1).toBeCloseTo(0, 5);
    expect(finalAlpha).not.toBe(reference.trainerState().alpha); // the same rule, on the gate's S_p instead of f's
  });
});

describe("ground-truth recovery (superposition toy data)", async () => {
  const { kernels } = await selectKernels({ threads: 1 });
  const context = { kernels, dIn: 32, totalSteps: 1000, batchSize: 256 };
  const trainers = {
    gated: () => new GatedTrainer(gatedConfigSchema.parse({ trainer: "gated", dSae: 128, lambda: 2, lr: 1e-2, seed: 1 }), context),
    gated_anneal: () => new GatedAnnealTrainer(gatedAnnealConfigSchema.parse({ trainer: "gated_anneal", dSae: 128, alpha: 1, lr: 1e-2, seed: 1 }), context),
  };
  for (const [name, make] of Object.entries(trainers)) {
    it(`a ${name} SAE (d_sae 128) recovers 64 true directions in R^32: mean max cosine ≥ 0.9 (${kernels.name} kernels)`, () => {
      const data = sparseDictionary(32, 64, 7);
      const trainer = make();
      for (let step = 0; step < context.totalSteps; step++) trainer.step(data.batch(256, 3), 256);
      expect(meanMaxCosine(data.directions, trainer.params.W_dec, 64, 128, 32)).toBeGreaterThanOrEqual(0.9);
    });
  }
});
