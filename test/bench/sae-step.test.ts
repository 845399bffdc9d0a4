// The SAE benchmark step: hand-derived gradients against float64 central differences, the optimiser against an
// independent float64 ConstrainedAdam (spec sae.md §1.2), and the best available provider against the reference.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { selectKernels } from "../../compute/select.js";
import { SaeStepWorkload, type SaeStepShape as SaeShape } from "../../bench/sae-step.js";
import { SaeRandom } from "../../sae/random.js";
import { initReluSae, type ReluSaeParams as SaeTensors } from "../../sae/trainers/relu-sae.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { randomArray } from "../compute/random.js";

const SHAPE: SaeShape = { batch: 8, dIn: 6, dSae: 10 };
const OPTIONS = { l1Coefficient: 0.1, lr: 1e-3 };
const NAMES = ["W_enc", "b_enc", "W_dec", "b_dec"] as const;

/** Untied random parameters with a non-zero b_dec, so every gradient term is exercised. */
function randomParams({ dIn, dSae }: SaeShape, seed: number): SaeTensors {
  return {
    W_enc: randomArray(dIn * dSae, seed, 0.6),
    b_enc: randomArray(dSae, seed + 1, 0.3),
    W_dec: randomArray(dSae * dIn, seed + 2, 0.6),
    b_dec: randomArray(dIn, seed + 3, 0.3),
  };
}

type Params64 = Record<(typeof NAMES)[number], Float64Array>;

function toFloat64(params: SaeTensors): Params64 {
  return {
    W_enc: Float64Array.from(params.W_enc),
    b_enc: Float64Array.from(params.b_enc),
    W_dec: Float64Array.from(params.W_dec),
    b_dec: Float64Array.from(params.b_dec),
  };
}

/** Pre-activations z [batch, dSae] and the loss mean_b ‖x − x̂‖² + λ·mean_b Σ f, written directly from the spec. */
function lossFloat64(p: Params64, x: Float32Array, { batch, dIn, dSae }: SaeShape, l1: number) {
  const z = new Float64Array(batch * dSae);
  let loss = 0;
  for (let b = 0; b < batch; b++) {
    const f = new Float64Array(dSae);
    for (let i = 0; i < dSae; i++) {
      let sum = p.b_enc[i];
      for (let j = 0; j < dIn; j++) sum += (x[b * dIn + j] - p.b_dec[j]) * p.W_enc[j * dSae + i];
      z[b * dSae + i] = sum;
      f[i] = Math.max(0, sum);
      loss += (l1 * f[i]) / batch;
    }
    for (let j = 0; j < dIn; j++) {
      let reconstruction = p.b_dec[j];
      for (let i = 0; i < dSae; i++) reconstruction += f[i] * p.W_dec[i * dIn + j];
      loss += (x[b * dIn + j] - reconstruction) ** 2 / batch;
    }
  }
  return { z, loss };
}

describe("SaeStepWorkload gradients", () => {
  const x = randomArray(SHAPE.batch * SHAPE.dIn, 11);
  const initial = randomParams(SHAPE, 21);
  const workload = new SaeStepWorkload(referenceKernels, SHAPE, OPTIONS, initial);
  const loss = workload.lossAndGradients(x);
  const params64 = toFloat64(initial);
  const { z, loss: expectedLoss } = lossFloat64(params64, x, SHAPE, OPTIONS.l1Coefficient);
  const h = 1e-5;

  it("sits away from ReLU kinks, with both active and inactive features", () => {
    // a perturbation by h moves any z by at most h·max(1, |x − b_dec|) < 2h, so no difference crosses a kink
    const magnitudes = Array.from(z, Math.abs);
    expect(Math.min(...magnitudes)).toBeGreaterThan(10 * h);
    expect(z.some((value) => value > 0)).toBe(true);
    expect(z.some((value) => value < 0)).toBe(true);
  });

  it("returns the float64 loss", () => {
    expect(loss.total).toBeCloseTo(expectedLoss, 5);
    expect(loss.sparsity).toBeGreaterThan(0);
  });

  for (const name of NAMES) {
    it(`∂L/∂${name} equals central finite differences`, () => {
      const values = params64[name];
      const numeric = new Float64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const saved = values[i];
        values[i] = saved + h;
        const plus = lossFloat64(params64, x, SHAPE, OPTIONS.l1Coefficient).loss;
        values[i] = saved - h;
        const minus = lossFloat64(params64, x, SHAPE, OPTIONS.l1Coefficient).loss;
        values[i] = saved;
        numeric[i] = (plus - minus) / (2 * h);
      }
      expect(numeric.some((value) => Math.abs(value) > 1e-2)).toBe(true);
      expectClose(workload.grads[name], numeric, 1e-4, 1e-5);
    });
  }
});

describe("SaeStepWorkload optimiser", () => {
  it("two steps equal an independent float64 ConstrainedAdam on the workload's gradients", () => {
    const x = randomArray(SHAPE.batch * SHAPE.dIn, 12);
    const stepped = new SaeStepWorkload(referenceKernels, SHAPE, OPTIONS, randomParams(SHAPE, 31));
    const probe = new SaeStepWorkload(referenceKernels, SHAPE, OPTIONS, randomParams(SHAPE, 31));
    const expected = toFloat64(randomParams(SHAPE, 31));
    const m = toFloat64(randomParams(SHAPE, 31));
    const v = toFloat64(randomParams(SHAPE, 31));
    for (const name of NAMES) {
      m[name].fill(0);
      v[name].fill(0);
    }
    const { dIn, dSae } = SHAPE;
    for (let step = 1; step <= 2; step++) {
      for (const name of NAMES) probe.params[name].set(stepped.params[name]);
      probe.lossAndGradients(x);
      const grads = toFloat64(probe.grads);
      for (let r = 0; r < dSae; r++) {
        const w = expected.W_dec.subarray(r * dIn, (r + 1) * dIn);
        const g = grads.W_dec.subarray(r * dIn, (r + 1) * dIn);
        const normSq = w.reduce((sum, value) => sum + value * value, 0);
        const dot = g.reduce((sum, value, j) => sum + value * w[j], 0);
        for (let j = 0; j < dIn; j++) g[j] -= (dot / normSq) * w[j];
      }
      for (const name of NAMES) {
        for (let i = 0; i < expected[name].length; i++) {
          const gi = grads[name][i];
          m[name][i] = 0.9 * m[name][i] + 0.1 * gi;
          v[name][i] = 0.999 * v[name][i] + 0.001 * gi * gi;
          const mHat = m[name][i] / (1 - 0.9 ** step);
          const vHat = v[name][i] / (1 - 0.999 ** step);
          expected[name][i] -= (OPTIONS.lr * mHat) / (Math.sqrt(vHat) + 1e-8);
        }
      }
      for (let r = 0; r < dSae; r++) {
        const w = expected.W_dec.subarray(r * dIn, (r + 1) * dIn);
        const norm = Math.sqrt(w.reduce((sum, value) => sum + value * value, 0));
        for (let j = 0; j < dIn; j++) w[j] /= norm;
      }
      stepped.step(x);
      for (const name of NAMES) expectClose(stepped.params[name], expected[name], 1e-5, 1e-6);
    }
  });

  it("starts from the tied init of spec sae.md §2.1 and keeps decoder rows at unit norm", () => {
    const shape: SaeShape = { batch: 16, dIn: 8, dSae: 12 };
    const init = initReluSae(shape, "tied", new SaeRandom(7));
    const rowNorm = (w: Float32Array, r: number) => Math.hypot(...w.subarray(r * shape.dIn, (r + 1) * shape.dIn));
    const workload = new SaeStepWorkload(referenceKernels, shape, OPTIONS, init);
    for (let r = 0; r < shape.dSae; r++) expect(rowNorm(workload.params.W_dec, r)).toBeCloseTo(0.1, 6);
    expect(workload.params.W_enc[3 * shape.dSae + 5]).toBe(workload.params.W_dec[5 * shape.dIn + 3]);
    expect(init.b_dec.every((value) => value === 0)).toBe(true);
    expect(init.b_enc.every((value) => Math.abs(value) <= 1 / Math.sqrt(shape.dIn))).toBe(true);
    workload.step(randomArray(shape.batch * shape.dIn, 13));
    for (let r = 0; r < shape.dSae; r++) expect(rowNorm(workload.params.W_dec, r)).toBeCloseTo(1, 6);
  });
});

describe("SaeStepWorkload across providers", async () => {
  const { kernels: best } = await selectKernels({ threads: 2 });
  it(`three steps with the best available provider (${best.name}) equal three with the reference kernels`, () => {
    const shape: SaeShape = { batch: 64, dIn: 32, dSae: 96 };
    const initial = initReluSae(shape, "tied", new SaeRandom(41));
    const fast = new SaeStepWorkload(best, shape, OPTIONS, initial);
    const reference = new SaeStepWorkload(referenceKernels, shape, OPTIONS, initial);
    for (let step = 0; step < 3; step++) {
      const x = randomArray(shape.batch * shape.dIn, 50 + step);
      const fastLoss = fast.step(x);
      const referenceLoss = reference.step(x);
      expect(fastLoss.total).toBeCloseTo(referenceLoss.total, 4);
      expect(Math.abs(fastLoss.total / referenceLoss.total - 1)).toBeLessThan(1e-4);
    }
    for (const name of NAMES) expectClose(fast.params[name], reference.params[name], 1e-3, 1e-5);
  });
});

