// The ReLU SAE dense pass (sae/trainers/relu-sae.ts) and the Lp sparsity terms (sae/anneal.ts): every gradient of the
// standard (L1) and p-anneal (Lp^p, Lp) losses, under both reconstruction terms, against float64 central differences;
// the two inits of spec §2.1; and the inference Sae against the float64 forward pass.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { lpSparsity } from "../../sae/anneal.js";
import { checkParams, createSae, SaeShapeError } from "../../sae/params.js";
import { SaeRandom } from "../../sae/random.js";
import { initReluSae, ReluSaePass, zeroReluSaeParams, type ReconKind, type ReluSaeParams } from "../../sae/trainers/relu-sae.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { centralDifferences, forward64, loss64, PARAM_NAMES, penalty64, rowNorms, toFloat64, uniformArray, type Sparsity64 } from "./reference.js";

const shape = { dIn: 6, dSae: 10 };
const B = 8;
const H = 1e-5;

/** Untied random parameters with non-zero biases, so every gradient term is exercised. */
function randomParams(seed: number): ReluSaeParams {
  return {
    W_enc: uniformArray(shape.dIn * shape.dSae, seed, 0.6),
    b_enc: uniformArray(shape.dSae, seed + 1, 0.3),
    W_dec: uniformArray(shape.dSae * shape.dIn, seed + 2, 0.6),
    b_dec: uniformArray(shape.dIn, seed + 3, 0.3),
  };
}

/** The pass's gradients of R + sparsity, the way the trainers drive it. */
function passGradients(params: ReluSaeParams, x: Float32Array, recon: ReconKind, sparsity: Sparsity64) {
  const pass = new ReluSaePass(referenceKernels, shape);
  const grads = zeroReluSaeParams(shape);
  pass.forward(params, x, B);
  const { reconstruction, mse } = pass.reconstructionLoss(x, recon);
  let penalty: number;
  if (sparsity.kind === "l1") {
    penalty = penalty64(pass.features, B, shape.dSae, "l1");
    pass.backward(params, grads, { l1PerRow: sparsity.coefficient / B, featureGradFilled: false });
  } else {
    penalty = lpSparsity(pass.features, B, shape.dSae, sparsity.p, null, sparsity.kind, sparsity.coefficient, pass.featureGrad).value;
    pass.backward(params, grads, { l1PerRow: 0, featureGradFilled: true });
  }
  return { grads, reconstruction, mse, penalty };
}

const cases: { name: string; recon: ReconKind; sparsity: Sparsity64 }[] = [
  { name: "standard, l2sq", recon: "l2sq", sparsity: { kind: "l1", coefficient: 0.3 } },
  { name: "standard, l2 (paper-era)", recon: "l2", sparsity: { kind: "l1", coefficient: 0.3 } },
  { name: "p-anneal Lp^p p=0.6, l2sq", recon: "l2sq", sparsity: { kind: "Lp^p", p: 0.6, coefficient: 0.2 } },
  { name: "p-anneal Lp^p p=0.2889, l2", recon: "l2", sparsity: { kind: "Lp^p", p: 0.2889, coefficient: 0.05 } },
  { name: "p-anneal Lp p=0.5, l2sq", recon: "l2sq", sparsity: { kind: "Lp", p: 0.5, coefficient: 0.2 } },
];

describe("ReLU SAE loss gradients against float64 central differences", () => {
  const x = uniformArray(B * shape.dIn, 11);
  const params = randomParams(21);
  const params64 = toFloat64(params);
  const { z } = forward64(params64, x, B, shape.dIn, shape.dSae);

  it("the fixture sits away from ReLU kinks and f^p's steep region, with active and inactive features", () => {
    // a perturbation by h moves any z by at most h·max(1, |x − b_dec|) < 2h
    const magnitudes = Array.from(z, Math.abs);
    expect(Math.min(...magnitudes)).toBeGreaterThan(2e-3);
    expect(z.some((value) => value > 0)).toBe(true);
    expect(z.some((value) => value < 0)).toBe(true);
  });

  for (const { name, recon, sparsity } of cases) {
    describe(name, () => {
      const result = passGradients(params, x, recon, sparsity);
      const expected = loss64(params64, x, B, shape.dIn, shape.dSae, recon, sparsity);

      it("returns the float64 loss terms", () => {
        expect(result.reconstruction).toBeCloseTo(expected.reconstruction, 5);
        expect(result.mse).toBeCloseTo(expected.mse, 5);
        expect(result.penalty).toBeCloseTo(expected.penalty, 5);
        expect(expected.penalty).toBeGreaterThan(0);
      });

      for (const tensor of PARAM_NAMES) {
        it(`∂L/∂${tensor}`, () => {
          const numeric = centralDifferences(params64[tensor], () => loss64(params64, x, B, shape.dIn, shape.dSae, recon, sparsity).loss, H);
          expect(numeric.some((value) => Math.abs(value) > 1e-2)).toBe(true);
          expectClose(result.grads[tensor], numeric, 2e-4, 2e-5);
        });
      }
    });
  }

  it("Lp^p at p = 1 gives the L1 gradient (to float32 rounding: the term is added in another order)", () => {
    const l1 = passGradients(params, x, "l2sq", { kind: "l1", coefficient: 0.3 });
    const lpp = passGradients(params, x, "l2sq", { kind: "Lp^p", p: 1, coefficient: 0.3 });
    expect(lpp.penalty).toBe(l1.penalty);
    for (const tensor of PARAM_NAMES) expectClose(lpp.grads[tensor], l1.grads[tensor], 1e-6, 1e-7);
  });

  it("lpSparsity returns S at next_p too and writes exact zeros where f = 0 (no 0·∞)", () => {
    const pass = new ReluSaePass(referenceKernels, shape);
    pass.forward(params, x, B);
    pass.featureGrad.fill(Number.NaN);
    const { value, nextValue } = lpSparsity(pass.features, B, shape.dSae, 0.3, 0.2, "Lp^p", 1, pass.featureGrad);
    expect(value).toBeCloseTo(penalty64(pass.features, B, shape.dSae, "Lp^p", 0.3), 10);
    expect(nextValue).toBeCloseTo(penalty64(pass.features, B, shape.dSae, "Lp^p", 0.2), 10);
    for (let i = 0; i < pass.features.length; i++) {
      if (pass.features[i] === 0) expect(Object.is(pass.featureGrad[i], 0)).toBe(true);
      else expect(pass.featureGrad[i]).toBeCloseTo((0.3 * pass.features[i] ** -0.7) / B, 4);
    }
  });
});

describe("spec §2.1 inits", () => {
  const big = { dIn: 16, dSae: 24 };

  it("tied: decoder rows at norm 0.1, W_enc = W_decᵀ, b_enc in ±1/√d_in, b_dec = 0", () => {
    const params = initReluSae(big, "tied", new SaeRandom(3));
    for (const norm of rowNorms(params.W_dec, big.dIn)) expect(norm).toBeCloseTo(0.1, 6);
    for (let i = 0; i < big.dSae; i++) for (let j = 0; j < big.dIn; j++) expect(params.W_enc[j * big.dSae + i]).toBe(params.W_dec[i * big.dIn + j]);
    expect(params.b_enc.every((value) => Math.abs(value) <= 1 / Math.sqrt(big.dIn))).toBe(true);
    expect(new Set(params.b_enc).size).toBe(big.dSae);
    expect(params.b_dec.every((value) => value === 0)).toBe(true);
  });

  it("paper: unit decoder rows, W_enc independent in ±1/√d_in", () => {
    const params = initReluSae(big, "paper", new SaeRandom(3));
    for (const norm of rowNorms(params.W_dec, big.dIn)) expect(norm).toBeCloseTo(1, 6);
    expect(params.W_enc.every((value) => Math.abs(value) <= 1 / Math.sqrt(big.dIn))).toBe(true);
    expect(params.W_enc[0]).not.toBe(params.W_dec[0]);
    expect(params.b_dec.every((value) => value === 0)).toBe(true);
  });

  it("is a function of the seed", () => {
    expect(initReluSae(big, "tied", new SaeRandom(5))).toEqual(initReluSae(big, "tied", new SaeRandom(5)));
    expect(initReluSae(big, "tied", new SaeRandom(5)).W_dec).not.toEqual(initReluSae(big, "tied", new SaeRandom(6)).W_dec);
  });

  it("a restored PRNG continues the same stream", () => {
    const random = new SaeRandom(9);
    for (let i = 0; i < 37; i++) random.next();
    const restored = SaeRandom.restore(random.state());
    expect(Array.from({ length: 5 }, () => restored.next())).toEqual(Array.from({ length: 5 }, () => random.next()));
  });
});

describe("inference Sae (sae/params.ts)", () => {
  const params = randomParams(31);
  const x = uniformArray(B * shape.dIn, 12);

  it("standard encode/decode equal the float64 forward pass", () => {
    const sae = createSae(referenceKernels, { architecture: "standard", ...shape, applyBDecToInput: true }, params);
    const expected = forward64(toFloat64(params), x, B, shape.dIn, shape.dSae);
    const features = sae.encode(x, B);
    expectClose(features, expected.f, 1e-5, 1e-6);
    expectClose(sae.decode(features, B), expected.xHat, 1e-5, 1e-6);
  });

  it("names the tensor and both sizes on a shape mismatch", () => {
    const bad = { ...params, b_enc: new Float32Array(3) };
    expect(() => createSae(referenceKernels, { architecture: "standard", ...shape, applyBDecToInput: true }, bad)).toThrow(/b_enc has 3 elements, expected \[10\] = 10/);
    const sae = createSae(referenceKernels, { architecture: "standard", ...shape, applyBDecToInput: true }, params);
    expect(() => sae.encode(new Float32Array(7), 1)).toThrow(SaeShapeError);
    expect(() => checkParams("gated", shape, params, "file.safetensors")).toThrow(/file.safetensors: tensor b_gate \[10\] is missing/);
  });
});
