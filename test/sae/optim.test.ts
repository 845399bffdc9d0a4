// Adam with PyTorch semantics and the decoder constraint of spec sae.md §1.2 (sae/optim.ts): hand-computed steps,
// ConstrainedAdam (both variants) against a float64 loop written from the spec, and checkpointed moments.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { selectKernels } from "../../compute/select.js";
import { Adam, clipGradNorm, CLIPPED_UNIT_NORM_DECODER, ConstrainedAdam, FLOAT32_EPSILON, UNIT_NORM_DECODER, type TensorMap } from "../../sae/optim.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { rowNorms, uniformArray } from "./reference.js";

describe("Adam (PyTorch semantics)", () => {
  // θ₀ = 0.5, lr 0.01, gradients 0.2, −0.1, 0.05.
  // (0.9, 0.999), step 1: m̂ = g, v̂ = g² → θ₁ = 0.5 − 0.01·0.2/(0.2 + 1e-8) = 0.49000000(05)
  // step 2: m = 0.9·0.02 + 0.1·(−0.1) = 0.008, v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5,
  //   m̂ = 0.008/0.19 = 0.0421053, v̂ = 4.996e-5/0.001999 = 0.0249925, θ₂ = 0.49 − 0.01·0.0421053/0.1580902 = 0.4873366
  // step 3 (same rule): θ₃ = 0.4839323
  // β1 = 0 (m = g): step 2: θ₂ = 0.49 + 0.01·0.1/0.1580902 = 0.4963255; step 3: θ₃ = 0.4925445
  const gradients = [0.2, -0.1, 0.05];
  for (const { beta1, expected } of [
    { beta1: 0.9, expected: [0.49, 0.4873366, 0.4839323] },
    { beta1: 0, expected: [0.49, 0.4963255, 0.4925445] },
  ]) {
    it(`β = (${beta1}, 0.999): three hand-computed steps`, () => {
      const param = new Float32Array([0.5]);
      const adam = new Adam(referenceKernels, { param }, { beta1, beta2: 0.999, eps: 1e-8 });
      gradients.forEach((gradient, i) => {
        adam.step({ param: new Float32Array([gradient]) }, 0.01);
        expect(param[0]).toBeCloseTo(expected[i], 6);
      });
      expect(adam.steps).toBe(3);
      if (beta1 === 0) expect(adam.moments("param").m[0]).toBeCloseTo(0.05, 7);
    });
  }

  it("lr 0 leaves parameters unchanged but moves the moments and the step count", () => {
    const param = new Float32Array([0.5, -1]);
    const adam = new Adam(referenceKernels, { param }, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    adam.step({ param: new Float32Array([0.2, 0.3]) }, 0);
    expect(Array.from(param)).toEqual([0.5, -1]);
    expect(adam.moments("param").m[0]).toBeCloseTo(0.02, 7);
    expect(adam.moments("param").v[1]).toBeCloseTo(0.001 * 0.09, 9);
    expect(adam.steps).toBe(1);
  });

  it("state()/restore() resumes bit-identically and rejects mismatched moments", () => {
    const make = () => ({ a: uniformArray(12, 1), b: uniformArray(5, 2) });
    const grads = (step: number): TensorMap => ({ a: uniformArray(12, 10 + step), b: uniformArray(5, 20 + step) });
    const straight = make();
    const adamStraight = new Adam(referenceKernels, straight, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    for (let step = 0; step < 6; step++) adamStraight.step(grads(step), 0.01);

    const first = make();
    const adamFirst = new Adam(referenceKernels, first, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    for (let step = 0; step < 3; step++) adamFirst.step(grads(step), 0.01);
    const resumed = { a: first.a.slice(), b: first.b.slice() };
    const adamResumed = new Adam(referenceKernels, resumed, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    adamResumed.restore(adamFirst.state());
    for (let step = 3; step < 6; step++) adamResumed.step(grads(step), 0.01);
    expect(resumed).toEqual(straight);

    const state = adamFirst.state();
    expect(() => adamResumed.restore({ ...state, m: { ...state.m, a: new Float32Array(3) } })).toThrow(/moment m of a has 3 elements, the parameter 12/);
    expect(() => adamResumed.step({ a: new Float32Array(12) }, 0.01)).toThrow(/no gradient for b/);
  });
});

/** spec §1.2 in float64: project (ŵ = w/(‖w‖ + e₁)), optional global clip, Adam, renormalise by ‖w‖ + e₂. */
function constrainedAdam64(
  params: Record<string, Float64Array>,
  grads: Record<string, Float64Array>,
  moments: { m: Record<string, Float64Array>; v: Record<string, Float64Array> },
  step: number,
  lr: number,
  cols: number,
  e1: number,
  e2: number,
  clip: number | null,
): void {
  const w = params.W_dec;
  const g = grads.W_dec;
  for (let o = 0; o < w.length; o += cols) {
    let normSq = 0;
    for (let j = 0; j < cols; j++) normSq += w[o + j] ** 2;
    const norm = Math.sqrt(normSq) + e1;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += (g[o + j] * w[o + j]) / norm;
    for (let j = 0; j < cols; j++) g[o + j] -= (dot * w[o + j]) / norm;
  }
  if (clip !== null) {
    let total = 0;
    for (const name of Object.keys(grads)) for (const value of grads[name]) total += value * value;
    const coefficient = Math.min(1, clip / (Math.sqrt(total) + 1e-6));
    for (const name of Object.keys(grads)) for (let i = 0; i < grads[name].length; i++) grads[name][i] *= coefficient;
  }
  for (const name of Object.keys(params)) {
    for (let i = 0; i < params[name].length; i++) {
      const gi = grads[name][i];
      moments.m[name][i] = 0.9 * moments.m[name][i] + 0.1 * gi;
      moments.v[name][i] = 0.999 * moments.v[name][i] + 0.001 * gi * gi;
      const mHat = moments.m[name][i] / (1 - 0.9 ** step);
      const vHat = moments.v[name][i] / (1 - 0.999 ** step);
      params[name][i] -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
  }
  for (let o = 0; o < w.length; o += cols) {
    let normSq = 0;
    for (let j = 0; j < cols; j++) normSq += w[o + j] ** 2;
    const norm = Math.sqrt(normSq) + e2;
    for (let j = 0; j < cols; j++) w[o + j] /= norm;
  }
}

describe("ConstrainedAdam (spec §1.2)", async () => {
  const { kernels: best } = await selectKernels({ threads: 1 });
  const dIn = 5;
  const rows = 7;
  const variants = [
    { name: "standard", constraint: UNIT_NORM_DECODER(dIn), gradScale: 1 },
    { name: "TopK/JumpReLU variant, clipping active", constraint: CLIPPED_UNIT_NORM_DECODER(dIn), gradScale: 10 },
    { name: "TopK/JumpReLU variant, norm below 1", constraint: CLIPPED_UNIT_NORM_DECODER(dIn), gradScale: 0.01 },
  ];
  for (const { name, constraint, gradScale } of variants) {
    it(`${name} (${best.name} kernels): three steps equal the float64 loop; rows end at unit norm`, () => {
      const params = { W_enc: uniformArray(dIn * rows, 1, 0.5), W_dec: uniformArray(rows * dIn, 2, 0.5) };
      const params64 = { W_enc: Float64Array.from(params.W_enc), W_dec: Float64Array.from(params.W_dec) };
      const moments = { m: { W_enc: new Float64Array(dIn * rows), W_dec: new Float64Array(rows * dIn) }, v: { W_enc: new Float64Array(dIn * rows), W_dec: new Float64Array(rows * dIn) } };
      const optimizer = new ConstrainedAdam(best, params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, constraint });
      for (let step = 1; step <= 3; step++) {
        const grads = { W_enc: uniformArray(dIn * rows, 10 + step, gradScale), W_dec: uniformArray(rows * dIn, 20 + step, gradScale) };
        const grads64 = { W_enc: Float64Array.from(grads.W_enc), W_dec: Float64Array.from(grads.W_dec) };
        optimizer.step(grads, 0.05);
        constrainedAdam64(params64, grads64, moments, step, 0.05, dIn, constraint.projectionEps, constraint.renormEps, constraint.clipGradNorm);
        expectClose(params.W_enc, params64.W_enc, 1e-5, 1e-6);
        expectClose(params.W_dec, params64.W_dec, 1e-5, 1e-6);
        for (const norm of rowNorms(params.W_dec, dIn)) expect(norm).toBeCloseTo(1, 6);
      }
      if (constraint.clipGradNorm !== null) expect(optimizer.lastGradNorm > 1).toBe(gradScale > 1);
    });
  }

  it("the projected gradient has no component along its decoder row", () => {
    const w = uniformArray(rows * dIn, 3);
    const grad = uniformArray(rows * dIn, 4);
    referenceKernels.projectOutParallel(grad, w, dIn, 0);
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let j = 0; j < dIn; j++) dot += grad[r * dIn + j] * w[r * dIn + j];
      expect(Math.abs(dot)).toBeLessThan(1e-6);
    }
  });

  it("clipGradNorm scales every gradient by max/(total + 1e-6) only when that is below 1", () => {
    const a = new Float32Array([3, 0]);
    const b = new Float32Array([4]);
    expect(clipGradNorm(referenceKernels, [a, b], 1)).toBeCloseTo(5, 10);
    expectClose([...a, ...b], [0.6, 0, 0.8], 1e-6);
    const small = new Float32Array([0.3, 0.4]);
    clipGradNorm(referenceKernels, [small], 1);
    expect(Array.from(small)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    expect(FLOAT32_EPSILON).toBe(1.1920928955078125e-7);
  });
});
