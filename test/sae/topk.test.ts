// TopK and BatchTopK (spec sae.md §2.5, §2.6): the top-k selection and its tie rule, the loss gradients with AuxK
// against float64 central differences, dead tracking in tokens, the inference threshold θ, the geometric-median
// init, the trainers end to end (losses against float64, checkpoints that resume bit-identically), their inference
// forms, and recovery of a known sparse dictionary.

import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Kernels } from "../../compute/kernels.js";
import { referenceKernels } from "../../compute/reference.js";
import { selectKernels } from "../../compute/select.js";
import { createSae } from "../../sae/params.js";
import { SaeRandom } from "../../sae/random.js";
import { parseSweepConfig, runSweep } from "../../sae/sweep.js";
import { keepTopK, kthLargest } from "../../sae/top-k.js";
import { batchTopKConfigSchema, BatchTopKTrainer } from "../../sae/trainers/batch-topk.js";
import { createTrainer, parseTrainerConfig } from "../../sae/trainers/index.js";
import { zeroReluSaeParams, type ReluSaeParams } from "../../sae/trainers/relu-sae.js";
import { topKConfigSchema, TopKTrainer } from "../../sae/trainers/topk.js";
import { annealedK } from "../../sae/trainers/topk-trainer.js";
import {
  batchThresholdSample,
  geometricMedian,
  initTopKSae,
  TokensSinceFired,
  tokenThresholdSample,
  TopKSaePass,
  updateThreshold,
  type SelectionMode,
} from "../../sae/trainers/topk-sae.js";
import { TrainerConfigError } from "../../sae/trainers/trainer.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { centralDifferences, forward64, meanMaxCosine, PARAM_NAMES, rowNorms, sparseDictionary, toFloat64, uniformArray, type Params64 } from "./reference.js";

// ---------------------------------------------------------------------------------------------------------------
// float64 references, written from the spec

/** Indices of the k largest values, ties → lower index (a stable sort by value, descending). */
function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from(values, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

interface TopKForward64 {
  a: Float64Array; // [B, dSae] ReLU(z)
  f: Float64Array; // [B, dSae]
  selected: boolean[]; // [B·dSae]
  xHat: Float64Array; // [B, dIn]
}

/** spec §2.5 / §2.6 forward: a = ReLU(z), f = a on the k largest per row ("row") or k·B largest overall ("batch"). */
function topkForward64(p: Params64, x: ArrayLike<number>, B: number, dIn: number, dSae: number, k: number, mode: SelectionMode): TopKForward64 {
  const a = forward64(p, x, B, dIn, dSae).f;
  const selected = new Array<boolean>(B * dSae).fill(false);
  if (mode === "row") {
    for (let b = 0; b < B; b++) for (const i of topIndices(a.subarray(b * dSae, (b + 1) * dSae), k)) selected[b * dSae + i] = true;
  } else {
    for (const index of topIndices(a, k * B)) selected[index] = true;
  }
  const f = a.map((value, index) => (selected[index] ? value : 0));
  const xHat = new Float64Array(B * dIn);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < dIn; j++) {
      let sum = p.b_dec[j];
      for (let i = 0; i < dSae; i++) sum += f[b * dSae + i] * p.W_dec[i * dIn + j];
      xHat[b * dIn + j] = sum;
    }
  }
  return { a, f, selected, xHat };
}

/** spec §2.5 AuxK with e held fixed: f_aux = the kAux largest of a among `dead` per row, ê = f_aux·W_dec (no b_dec). */
function auxk64(p: Params64, a: Float64Array, e: Float64Array, B: number, dIn: number, dSae: number, dead: number[], kAux: number) {
  const eHat = new Float64Array(B * dIn);
  for (let b = 0; b < B; b++) {
    const chosen = topIndices(dead.map((i) => a[b * dSae + i]), kAux);
    for (const position of chosen) {
      const i = dead[position];
      for (let j = 0; j < dIn; j++) eHat[b * dIn + j] += a[b * dSae + i] * p.W_dec[i * dIn + j];
    }
  }
  const means = new Float64Array(dIn);
  for (let b = 0; b < B; b++) for (let j = 0; j < dIn; j++) means[j] += e[b * dIn + j] / B;
  let preNorm = 0;
  let variance = 0;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < dIn; j++) {
      preNorm += (e[b * dIn + j] - eHat[b * dIn + j]) ** 2 / B;
      variance += (e[b * dIn + j] - means[j]) ** 2 / B;
    }
  }
  return { auxk: preNorm / variance, preNorm };
}

/** mean_b ‖x − x̂‖² and the residual e = x − x̂. */
function mse64(x: ArrayLike<number>, xHat: Float64Array, B: number, dIn: number) {
  const e = new Float64Array(B * dIn);
  let mse = 0;
  for (let i = 0; i < B * dIn; i++) {
    e[i] = x[i] - xHat[i];
    mse += e[i] ** 2 / B;
  }
  return { mse, e };
}

/** L = mse + α·AuxK(e_fixed) (e_fixed = the unperturbed residual: AuxK's e is a stop-gradient). */
function topkLoss64(p: Params64, x: ArrayLike<number>, B: number, dIn: number, dSae: number, k: number, mode: SelectionMode, aux: { dead: number[]; kAux: number; alpha: number; e?: Float64Array }) {
  const forward = topkForward64(p, x, B, dIn, dSae, k, mode);
  const { mse, e } = mse64(x, forward.xHat, B, dIn);
  const { auxk, preNorm } = aux.dead.length === 0 ? { auxk: 0, preNorm: 0 } : auxk64(p, forward.a, aux.e ?? e, B, dIn, dSae, aux.dead, aux.kAux);
  return { loss: mse + aux.alpha * auxk, mse, auxk, preNorm, e, forward };
}

// ---------------------------------------------------------------------------------------------------------------

describe("top-k selection (sae/top-k.ts)", () => {
  it("kthLargest finds the k-th largest and the count above it, duplicates included", () => {
    const random = new SaeRandom(3);
    for (let trial = 0; trial < 200; trial++) {
      const length = 1 + Math.floor(random.uniform() * 40);
      const values = Float32Array.from({ length }, () => Math.floor(random.uniform() * 6) - 2); // many ties
      const k = 1 + Math.floor(random.uniform() * length);
      const sorted = Array.from(values).sort((a, b) => b - a);
      const { value, greater } = kthLargest(values.slice(), length, k);
      expect(value).toBe(sorted[k - 1]);
      expect(greater).toBe(sorted.filter((v) => v > sorted[k - 1]).length);
    }
  });

  it("hand-built ties keep the lower indices", () => {
    const row = Float32Array.from([1, 2, 2, 2, 0, 2]);
    const out = new Float32Array(6);
    const scratch = new Float32Array(6);
    keepTopK(row, out, 0, 6, 2, scratch);
    expect(Array.from(out)).toEqual([0, 2, 2, 0, 0, 0]);
    keepTopK(row, out, 0, 6, 4, scratch);
    expect(Array.from(out)).toEqual([0, 2, 2, 2, 0, 2]);
    const mask = new Uint8Array(6);
    keepTopK(Float32Array.from([0, 0, 3, 0, 0, 0]), out, 0, 6, 3, scratch, mask); // selected zeros: indices 0, 1
    expect(Array.from(out)).toEqual([0, 0, 3, 0, 0, 0]);
    expect(Array.from(mask)).toEqual([1, 1, 1, 0, 0, 0]);
    keepTopK(Float32Array.from([-1, -3, 2, -1]), out, 0, 4, 3, scratch); // fewer positives than k, negative ties
    expect(Array.from(out.subarray(0, 4))).toEqual([-1, 0, 2, -1]);
  });

  it("matches a stable sort on random rows with ties, in place and into another array", () => {
    const random = new SaeRandom(4);
    for (let trial = 0; trial < 100; trial++) {
      const length = 2 + Math.floor(random.uniform() * 30);
      const values = Float32Array.from({ length }, () => Math.max(0, Math.floor(random.uniform() * 8) - 3));
      const k = 1 + Math.floor(random.uniform() * (length - 1));
      const keep = new Set(topIndices(values, k));
      const expected = Array.from(values, (value, i) => (keep.has(i) ? value : 0));
      const out = new Float32Array(length + 3).fill(7);
      keepTopK(values, out, 0, length, k, new Float32Array(length));
      expect(Array.from(out.subarray(0, length))).toEqual(expected);
      const inPlace = values.slice();
      keepTopK(inPlace, inPlace, 0, length, k, new Float32Array(length));
      expect(Array.from(inPlace)).toEqual(expected);
    }
  });
});

describe("TopKSaePass forward: selection, fired features", () => {
  // W_enc = I, b_enc = 0, b_dec = 0: a = ReLU(x), so the activations are written by hand
  const shape = { dIn: 4, dSae: 4 };
  const identity = zeroReluSaeParams(shape);
  for (let i = 0; i < 4; i++) identity.W_enc[i * 4 + i] = identity.W_dec[i * 4 + i] = 1;
  const x = Float32Array.from([0, 0, 0, 0, 3, 0, 1, 0]); // row 0 has no positive entry

  it("TopK: ties → lower feature index; every selected feature fires, selected zeros included", () => {
    const pass = new TopKSaePass(referenceKernels, shape);
    pass.forward(identity, x, 2, 2, "row");
    expect(Array.from(pass.features)).toEqual([0, 0, 0, 0, 3, 0, 1, 0]);
    expect(Array.from(pass.fired)).toEqual([1, 1, 1, 0]); // row 0 selects features 0 and 1 (value 0)
  });

  it("BatchTopK: the k·B largest of the matrix, ties → lower flat index; fired = a positive selected value", () => {
    const pass = new TopKSaePass(referenceKernels, shape);
    pass.forward(identity, x, 2, 2, "batch"); // keeps flat 4 (3), 6 (1), then the zeros at flat 0 and 1
    expect(Array.from(pass.features)).toEqual([0, 0, 0, 0, 3, 0, 1, 0]);
    expect(Array.from(pass.fired)).toEqual([1, 0, 1, 0]); // feature 1 was selected only with value 0
  });

  for (const mode of ["row", "batch"] as const) {
    it(`exactly k non-zeros per row (row) / k·B overall (batch) when a > 0 everywhere: ${mode}`, () => {
      const big = { dIn: 8, dSae: 40 };
      const params = initTopKSae(big, new SaeRandom(2));
      params.b_enc.fill(10); // every a positive
      const pass = new TopKSaePass(referenceKernels, big);
      const B = 12;
      const k = 5;
      pass.forward(params, uniformArray(B * big.dIn, 3), B, k, mode);
      const perRow = Array.from({ length: B }, (_, b) => pass.features.subarray(b * 40, (b + 1) * 40).filter((v) => v !== 0).length);
      if (mode === "row") expect(perRow).toEqual(new Array(B).fill(k));
      else {
        expect(perRow.reduce((a, b) => a + b, 0)).toBe(k * B);
        expect(new Set(perRow).size).toBeGreaterThan(1); // the batch spreads k·B unevenly over its tokens
      }
      const expected = topkForward64(toFloat64(params), uniformArray(B * big.dIn, 3), B, big.dIn, big.dSae, k, mode);
      expect(Array.from(pass.features, (v) => v !== 0)).toEqual(expected.selected);
    });
  }
});

describe("loss gradients incl. AuxK against float64 central differences", () => {
  const shape = { dIn: 6, dSae: 16 };
  const B = 6;
  const k = 2;
  const H = 1e-5;
  const alpha = 1 / 32;
  const kAux = 3; // ⌊6/2⌋, fewer than the dead features
  const params: ReluSaeParams = {
    W_enc: uniformArray(shape.dIn * shape.dSae, 51, 0.6),
    b_enc: uniformArray(shape.dSae, 52, 0.3),
    W_dec: uniformArray(shape.dSae * shape.dIn, 53, 0.6),
    b_dec: uniformArray(shape.dIn, 54, 0.3),
  };
  const x = uniformArray(B * shape.dIn, 55);
  const params64 = toFloat64(params);

  for (const mode of ["row", "batch"] as const) {
    describe(mode === "row" ? "TopK" : "BatchTopK", () => {
      const base = topkForward64(params64, x, B, shape.dIn, shape.dSae, k, mode);
      // forced dead: every feature this batch never selects (as after a long silence)
      const dead = Array.from({ length: shape.dSae }, (_, i) => i).filter((i) => !Array.from({ length: B }, (_, b) => base.selected[b * shape.dSae + i]).some(Boolean));
      const { e } = mse64(x, base.xHat, B, shape.dIn);
      const expected = topkLoss64(params64, x, B, shape.dIn, shape.dSae, k, mode, { dead, kAux, alpha, e });

      const pass = new TopKSaePass(referenceKernels, shape);
      const grads = zeroReluSaeParams(shape);
      pass.forward(params, x, B, k, mode);
      const mse = pass.reconstructionLoss(x);
      const result = pass.auxK(params, x, Int32Array.from(dead), dead.length, kAux, alpha);
      pass.backward(params, grads);

      it("the fixture has margins: no selection (main or AuxK) or ReLU kink within reach of a perturbation", () => {
        expect(dead.length).toBeGreaterThan(kAux);
        const gaps: number[] = [];
        const a = base.a;
        const boundary = (values: number[], kept: number) => {
          const sorted = [...values].sort((p, q) => q - p);
          if (sorted[kept - 1] > 0) gaps.push(sorted[kept - 1] - sorted[kept]);
        };
        if (mode === "row") for (let b = 0; b < B; b++) boundary(Array.from(a.subarray(b * 16, (b + 1) * 16)), k);
        else boundary(Array.from(a), k * B);
        for (let b = 0; b < B; b++) boundary(dead.map((i) => a[b * 16 + i]), kAux);
        // a perturbation by h moves any z by at most h·max(1, |x − b_dec|) < 2h = 2e-5
        expect(Math.min(...gaps)).toBeGreaterThan(2e-4);
        const z = forward64(params64, x, B, shape.dIn, shape.dSae).z;
        expect(Math.min(...Array.from(z, Math.abs))).toBeGreaterThan(2e-4);
        // the AuxK term does reach some dead features (positive a among the kept)
        expect(dead.some((i) => Array.from({ length: B }, (_, b) => a[b * 16 + i]).some((v) => v > 0))).toBe(true);
      });

      it("the pass selects as float64 and returns its MSE and AuxK", () => {
        expect(Array.from(pass.features, (v) => v !== 0)).toEqual(Array.from(base.f, (v) => v !== 0));
        expect(mse).toBeCloseTo(expected.mse, 5);
        expect(result.auxk).toBeCloseTo(expected.auxk, 5);
        expect(result.preNorm).toBeCloseTo(expected.preNorm, 5);
        expect(expected.auxk).toBeGreaterThan(0);
      });

      for (const tensor of PARAM_NAMES) {
        it(`∂L/∂${tensor}`, () => {
          const numeric = centralDifferences(params64[tensor], () => topkLoss64(params64, x, B, shape.dIn, shape.dSae, k, mode, { dead, kAux, alpha, e }).loss, H);
          expect(numeric.some((value) => Math.abs(value) > 1e-2)).toBe(true);
          expectClose(grads[tensor], numeric, 2e-4, 2e-5);
        });
      }

      it("AuxK's gradient reaches the dead features' decoder rows and nothing else of the decoder", () => {
        const withoutAux = zeroReluSaeParams(shape);
        const plain = new TopKSaePass(referenceKernels, shape);
        plain.forward(params, x, B, k, mode);
        plain.reconstructionLoss(x);
        plain.backward(params, withoutAux);
        for (let i = 0; i < shape.dSae; i++) {
          const row = (g: ReluSaeParams) => Array.from(g.W_dec.subarray(i * 6, (i + 1) * 6));
          if (dead.includes(i)) expect(row(withoutAux).every((v) => v === 0)).toBe(true);
          else expect(row(grads)).toEqual(row(withoutAux));
        }
        expect(dead.some((i) => grads.W_dec.subarray(i * 6, (i + 1) * 6).some((v) => v !== 0))).toBe(true);
        expect(Array.from(grads.b_dec)).not.toEqual(Array.from(withoutAux.b_dec)); // through the encoder input only
      });
    });
  }

  it("a non-finite AuxK (one token: zero residual variance) counts as 0 and adds no gradient", () => {
    const pass = new TopKSaePass(referenceKernels, shape);
    const one = x.subarray(0, shape.dIn);
    pass.forward(params, one, 1, k, "row");
    pass.reconstructionLoss(one);
    const result = pass.auxK(params, one, Int32Array.from([3, 5, 9, 11]), 4, kAux, alpha);
    expect(result.auxk).toBe(0);
    const grads = zeroReluSaeParams(shape);
    pass.backward(params, grads);
    const plain = new TopKSaePass(referenceKernels, shape);
    const plainGrads = zeroReluSaeParams(shape);
    plain.forward(params, one, 1, k, "row");
    plain.reconstructionLoss(one);
    plain.backward(params, plainGrads);
    for (const name of PARAM_NAMES) expect(grads[name]).toEqual(plainGrads[name]);
  });
});

describe("dead tracking in tokens (spec §2.5)", () => {
  it("follows a hand-worked sequence: c += B, fired → 0, dead ⇔ c ≥ window", () => {
    const tracker = new TokensSinceFired(4);
    const dead = new Int32Array(4);
    const steps: [number[], number][] = [
      [[1, 0, 0, 0], 5], // c = 0, 5, 5, 5
      [[0, 1, 0, 0], 5], // c = 5, 0, 10, 10
      [[0, 0, 1, 0], 4], // c = 9, 4, 0, 14
      [[1, 0, 0, 0], 5], // c = 0, 9, 5, 19
    ];
    const expectedCounts = [[0, 5, 5, 5], [5, 0, 10, 10], [9, 4, 0, 14], [0, 9, 5, 19]];
    const expectedDead = [[], [2, 3], [3], [3]];
    steps.forEach(([fired, tokens], s) => {
      tracker.observe(Uint8Array.from(fired), tokens);
      expect(Array.from(tracker.counts)).toEqual(expectedCounts[s]);
      const count = tracker.dead(10, dead);
      expect(Array.from(dead.subarray(0, count))).toEqual(expectedDead[s]);
    });
  });

  it("saturates instead of overflowing int32", () => {
    const tracker = new TokensSinceFired(1);
    tracker.counts[0] = 2 ** 31 - 100;
    tracker.observe(Uint8Array.from([0]), 8192);
    expect(tracker.counts[0]).toBe(2 ** 31 - 1);
  });
});

describe("inference threshold θ (spec §2.5, §2.6)", () => {
  const features = Float32Array.from([0, 2, 0.5, 0, 0, 0, 1.5, 0, 3]); // 3 tokens × 3 features; token 1 has none

  it("TopK m = mean over tokens of the smallest positive selected value (tokens without one skipped)", () => {
    expect(tokenThresholdSample(features, 3, 3)).toBeCloseTo((0.5 + 1.5) / 2, 7);
    expect(tokenThresholdSample(new Float32Array(6), 2, 3)).toBeNull();
  });

  it("BatchTopK m = the smallest positive selected value of the batch, 0 if none", () => {
    expect(batchThresholdSample(features)).toBe(0.5);
    expect(batchThresholdSample(new Float32Array(6))).toBe(0);
  });

  it("θ ← m while θ < 0, then 0.999·θ + 0.001·m", () => {
    let threshold = updateThreshold(-1, 1, 0.999);
    expect(threshold).toBe(1);
    threshold = updateThreshold(threshold, 3, 0.999); // 0.999 + 0.003
    expect(threshold).toBeCloseTo(1.002, 6);
    threshold = updateThreshold(threshold, 0, 0.999); // 1.002·0.999
    expect(threshold).toBeCloseTo(1.000998, 6);
  });
});

describe("geometric median (Weiszfeld, spec §2.5)", () => {
  function weiszfeld64(points: ArrayLike<number>, count: number, d: number): number[] {
    let m = Array.from({ length: d }, (_, j) => Array.from({ length: count }, (_, b) => points[b * d + j]).reduce((a, v) => a + v, 0) / count);
    for (let iteration = 0; iteration < 100; iteration++) {
      const w = Array.from({ length: count }, (_, b) => 1 / Math.max(Math.hypot(...Array.from({ length: d }, (_, j) => points[b * d + j] - m[j])), 1e-12));
      const total = w.reduce((a, v) => a + v, 0);
      const next = Array.from({ length: d }, (_, j) => w.reduce((a, wb, b) => a + (wb / total) * points[b * d + j], 0));
      const shift = Math.hypot(...next.map((v, j) => v - m[j]));
      m = next;
      if (shift < 1e-5) break;
    }
    return m;
  }

  it("equals a float64 Weiszfeld and (nearly) zeroes Σ_b (x_b − m)/‖x_b − m‖", () => {
    const d = 5;
    const count = 40;
    const points = uniformArray(count * d, 61, 2);
    for (let j = 0; j < d; j++) points[j] += 30; // an outlier pulls the mean, not the median
    const median = geometricMedian(points, count, d);
    expectClose(median, weiszfeld64(points, count, d), 1e-12, 1e-12);
    const pull = new Array<number>(d).fill(0);
    for (let b = 0; b < count; b++) {
      const diff = Array.from({ length: d }, (_, j) => points[b * d + j] - median[j]);
      const norm = Math.hypot(...diff);
      diff.forEach((v, j) => (pull[j] += v / norm));
    }
    expect(Math.hypot(...pull)).toBeLessThan(0.05); // vs ~1 per point when off the median
    const mean = Array.from({ length: d }, (_, j) => Array.from({ length: count }, (_, b) => points[b * d + j]).reduce((a, v) => a + v, 0) / count);
    expect(Math.abs(mean[0] - median[0])).toBeGreaterThan(0.3);
  });

  it("survives a point that coincides with the estimate (distance clamped at 1e-12)", () => {
    const points = Float32Array.from([1, 1, 1, 1, 1, 1]); // three equal points: the mean is one of them
    expect(Array.from(geometricMedian(points, 3, 2))).toEqual([1, 1]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const dIn = 8;
const dSae = 24;
const B = 16;
const k = 3;

function topk(overrides: Record<string, unknown>, totalSteps: number, kernels: Kernels = referenceKernels): TopKTrainer {
  return new TopKTrainer(topKConfigSchema.parse({ trainer: "topk", dSae, k, ...overrides }), { kernels, dIn, totalSteps, batchSize: B });
}

function batchTopk(overrides: Record<string, unknown>, totalSteps: number, kernels: Kernels = referenceKernels): BatchTopKTrainer {
  return new BatchTopKTrainer(batchTopKConfigSchema.parse({ trainer: "batch_topk", dSae, k, ...overrides }), { kernels, dIn, totalSteps, batchSize: B });
}

describe("config (spec §2 table, §1.3)", () => {
  it("lr = 2e-4/√(d_sae/16384); clipped decoder variant; Adam (0.9, 0.999)", () => {
    const config = (size: number) => topk({ dSae: size }, 100).config;
    expect(config(4096).lr).toBeCloseTo(4e-4, 12);
    expect(config(8192).lr).toBeCloseTo(2.8284e-4, 8);
    const { adam, decoder, architecture, sparsityWarmupSteps } = config(24);
    expect(adam).toEqual({ beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    expect(decoder).toEqual({ projectionEps: 1e-6, renormEps: 2 ** -23, clipGradNorm: 1 });
    expect(architecture).toBe("topk");
    expect(sparsityWarmupSteps).toBe(0);
    expect(batchTopk({}, 100).config.architecture).toBe("jumprelu");
  });

  it("short runs scale thresholdStart and the dead window (in tokens); explicit values are kept", () => {
    const scaled = topk({}, 3662).config; // S/S_ref ≈ 0.1
    expect(scaled.thresholdStart).toBe(Math.floor((1000 * 3662) / 36621));
    expect(scaled.deadTokens).toBe(Math.floor((10_000_000 * 3662) / 36621));
    expect(scaled.shortRun.scaled).toEqual(expect.arrayContaining(["lrWarmupSteps", "thresholdStart", "deadTokens"]));
    const full = topk({}, 40_000).config;
    expect([full.thresholdStart, full.deadTokens, full.lrWarmupSteps]).toEqual([1000, 10_000_000, 1000]);
    const explicit = topk({ thresholdStart: 7, deadTokens: 123 }, 3662).config;
    expect([explicit.thresholdStart, explicit.deadTokens]).toEqual([7, 123]);
    expect(topk({}, 100).config.auxkMax).toBe(4);
    expect(topk({}, 100).config.normalize).toBe("none");
    expect(batchTopk({ normalize: "unit-mean-squared-norm" }, 100).config.normalize).toBe("unit-mean-squared-norm");
  });

  it("k-anneal k_s = ⌊d_in·(1 − r) + k·r⌋, r = min(s, K)/K; bad settings name the field", () => {
    expect([0, 1, 2, 3, 4, 9].map((s) => annealedK(s, 20, 64, 4))).toEqual([64, 53, 42, 31, 20, 20]);
    expect(annealedK(5, 20, 64, null)).toBe(20);
    expect(topk({ kAnnealSteps: 4 }, 100).kAt(2)).toBe(Math.floor(8 * 0.5 + 3 * 0.5));
    expect(() => topk({ k: 25 }, 100)).toThrow(/k = 25 exceeds dSae = 24/);
    expect(() => topk({ kAnnealSteps: 100 }, 100)).toThrow(TrainerConfigError);
    expect(() => topk({ k: 8, kAnnealSteps: 4 }, 100)).toThrow(/k < d_in/);
    expect(() => topk({ sparsityWarmupSteps: 5 }, 100)).toThrow(/no sparsity term/);
  });

  it("is registered: parseTrainerConfig / createTrainer build both", () => {
    const context = { kernels: referenceKernels, dIn, totalSteps: 10, batchSize: B };
    expect(createTrainer(parseTrainerConfig({ trainer: "topk", dSae, k }, "trainers[0]"), context)).toBeInstanceOf(TopKTrainer);
    expect(createTrainer(parseTrainerConfig({ trainer: "batch_topk", dSae, k }, "trainers[1]"), context)).toBeInstanceOf(BatchTopKTrainer);
    expect(() => parseTrainerConfig({ trainer: "topk", dSae }, "trainers[2]")).toThrow(/trainers\[2\]\.k/);
  });
});

describe("init (spec §2.5)", () => {
  it("unit decoder rows from Kaiming-uniform draws, W_enc = W_decᵀ, b_enc = 0, seeded", () => {
    const params = initTopKSae({ dIn: 16, dSae: 32 }, new SaeRandom(5));
    for (const norm of rowNorms(params.W_dec, 16)) expect(norm).toBeCloseTo(1, 6);
    for (let i = 0; i < 32; i++) for (let j = 0; j < 16; j++) expect(params.W_enc[j * 32 + i]).toBe(params.W_dec[i * 16 + j]);
    expect(params.b_enc.every((v) => v === 0) && params.b_dec.every((v) => v === 0)).toBe(true);
    // first draw: W_dec[0, 0] = U(±1/√32)/‖row 0‖ — reproduce row 0 from the stream (drawn in [d_in, d_sae] order)
    const random = new SaeRandom(5);
    const raw = Array.from({ length: 16 * 32 }, () => (random.uniform() * 2 - 1) / Math.sqrt(32));
    const row0 = Array.from({ length: 16 }, (_, j) => raw[j * 32]);
    const norm = Math.hypot(...row0);
    for (let j = 0; j < 16; j++) expect(params.W_dec[j]).toBeCloseTo(row0[j] / norm, 6);
    expect(initTopKSae({ dIn: 16, dSae: 32 }, new SaeRandom(5))).toEqual(params);
  });

  it("step 0 sets b_dec to the geometric median of the first batch and runs at LR 0", () => {
    const trainer = topk({}, 100);
    const before = structuredClone(trainer.params);
    const batch = uniformArray(B * dIn, 70, 2);
    const log = trainer.step(batch, B);
    expect(log.lr).toBe(0);
    expectClose(trainer.params.b_dec, geometricMedian(batch, B, dIn), 1e-6, 1e-7);
    expect(trainer.params.W_enc).toEqual(before.W_enc); // lr 0: only the renormalisation touches the decoder
    expectClose(trainer.params.W_dec, before.W_dec, 1e-6, 1e-7);
    expect(trainer.step(uniformArray(B * dIn, 71), B).lr).toBeCloseTo((2e-4 / Math.sqrt(24 / 16384)) / 2, 12); // W_lr = 2
  });
});

describe.each([
  ["TopK", "row" as const, topk],
  ["BatchTopK", "batch" as const, batchTopk],
])("%s trainer", (_name, mode, make) => {
  it("each step's loss (MSE + AuxK/32 over the features dead after this step's count) and L0/FVE equal float64", () => {
    const trainer = make({ lr: 1e-2, deadTokens: B, lrWarmupSteps: 1 }, 40); // dead ⇔ not fired this step
    const counts = new Array<number>(dSae).fill(0);
    let auxkSteps = 0;
    for (let step = 0; step < 10; step++) {
      const batch = uniformArray(B * dIn, 100 + step);
      if (step === 0) trainer.params.b_dec.set(geometricMedian(batch, B, dIn)); // what step 0 does first
      const before = toFloat64(trainer.params);
      const forward = topkForward64(before, batch, B, dIn, dSae, k, mode);
      for (let i = 0; i < dSae; i++) {
        const rows = Array.from({ length: B }, (_, b) => b * dSae + i);
        const fired = mode === "row" ? rows.some((index) => forward.selected[index]) : rows.some((index) => forward.f[index] > 0);
        counts[i] = fired ? 0 : counts[i] + B;
      }
      const dead = counts.flatMap((c, i) => (c >= B ? [i] : []));
      const expected = topkLoss64(before, batch, B, dIn, dSae, k, mode, { dead, kAux: Math.min(4, dead.length), alpha: 1 / 32 });
      const log = trainer.step(batch, B);
      expect(Array.from(trainer.tokensSinceFired.counts)).toEqual(counts);
      expect(log.state.dead_features).toBe(dead.length);
      expect(log.mse).toBeCloseTo(expected.mse, 5);
      expect(log.state.auxk_loss).toBeCloseTo(expected.auxk, 5);
      expect(log.loss).toBeCloseTo(expected.loss, 5);
      if (dead.length > 0) auxkSteps++;
      const stats = trainer.batchStats(batch);
      expect(stats.l0).toBe(Array.from(expected.forward.f).filter((v) => v !== 0).length / B);
    }
    expect(auxkSteps).toBeGreaterThan(5);
  });

  it("θ stays −1 through step thresholdStart and follows the EMA of m after it (strict s > thresholdStart)", () => {
    const trainer = make({ lr: 1e-2, thresholdStart: 2 }, 40);
    let expected = -1;
    for (let step = 0; step < 6; step++) {
      const batch = uniformArray(B * dIn, 150 + step);
      if (step === 0) trainer.params.b_dec.set(geometricMedian(batch, B, dIn));
      const f = Float32Array.from(topkForward64(toFloat64(trainer.params), batch, B, dIn, dSae, k, mode).f);
      trainer.step(batch, B);
      if (step > 2) {
        const m = mode === "row" ? tokenThresholdSample(f, B, dSae)! : batchThresholdSample(f);
        expected = expected < 0 ? m : 0.999 * expected + 0.001 * m;
      }
      expect(trainer.threshold).toBeCloseTo(expected, 6);
    }
    expect(trainer.threshold).toBeGreaterThan(0);
    expect(trainer.trainerState().threshold).toBe(trainer.threshold);
  });

  it("decoder rows have unit norm after every step", () => {
    const trainer = make({ lr: 3e-2, deadTokens: B }, 30);
    for (let step = 0; step < 15; step++) {
      trainer.step(uniformArray(B * dIn, 200 + step, 2), B);
      for (const norm of rowNorms(trainer.params.W_dec, dIn)) expect(norm).toBeCloseTo(1, 6);
    }
  });

  it("state() → restore() into a fresh trainer continues bit-identically (θ, dead counts, Adam, PRNG)", () => {
    const settings = { lr: 1e-2, thresholdStart: 3, deadTokens: B, kAnnealSteps: 6, k: 2 };
    const straight = make(settings, 20);
    const interrupted = make(settings, 20);
    for (let step = 0; step < 20; step++) straight.step(uniformArray(B * dIn, 300 + step), B);
    for (let step = 0; step < 9; step++) interrupted.step(uniformArray(B * dIn, 300 + step), B);
    const checkpoint = interrupted.state();
    expect(checkpoint.values.threshold).toBeGreaterThan(0);
    expect(Array.from(checkpoint.tensors.tokensSinceFired).some((c) => c >= B)).toBe(true);
    const resumed = make(settings, 20);
    resumed.restore(checkpoint);
    expect(resumed.stepsDone).toBe(9);
    for (let step = 9; step < 20; step++) resumed.step(uniformArray(B * dIn, 300 + step), B);
    for (const name of PARAM_NAMES) expect(resumed.params[name]).toEqual(straight.params[name]);
    expect(resumed.state()).toEqual(straight.state());
    expect(resumed.sae().encode(uniformArray(B * dIn, 9), B)).toEqual(straight.sae().encode(uniformArray(B * dIn, 9), B));
  });

  it("restore() rejects another trainer's or shape's checkpoint, naming the entry", () => {
    const checkpoint = make({}, 10).state();
    expect(() => make({ dSae: dSae + 1 }, 10).restore(checkpoint)).toThrow(/checkpoint tensor W_enc has 192 elements, expected 200/);
    const other = mode === "row" ? "batch_topk" : "topk";
    expect(() => make({}, 10).restore({ ...checkpoint, values: { ...checkpoint.values, trainer: other } })).toThrow(/cannot restore/);
    const { tokensSinceFired: _dropped, ...tensors } = checkpoint.tensors;
    expect(() => make({}, 10).restore({ ...checkpoint, tensors })).toThrow(/tokensSinceFired is missing/);
  });
});

describe("inference forms (spec §2.5, §2.6, §4)", () => {
  const x = uniformArray(B * dIn, 400, 2);

  it("TopK: sae() encodes the top-k of a per token with the trained k; useThreshold gives a ⊙ 1[a > θ]", () => {
    const trainer = topk({ lr: 1e-2, thresholdStart: 1 }, 20);
    for (let step = 0; step < 6; step++) trainer.step(uniformArray(B * dIn, 410 + step), B);
    const sae = trainer.sae();
    expect(sae.spec).toMatchObject({ architecture: "topk", k, topkThreshold: trainer.threshold, applyBDecToInput: true });
    const expected = topkForward64(toFloat64(trainer.params), x, B, dIn, dSae, k, "row");
    const features = sae.encode(x, B);
    expectClose(features, expected.f, 1e-5, 1e-6);
    expectClose(sae.decode(features, B), expected.xHat, 1e-5, 1e-6);
    const theta = trainer.threshold;
    expect(theta).toBeGreaterThan(0);
    const thresholded = createSae(referenceKernels, { ...sae.spec, useThreshold: true, topkThreshold: theta }, trainer.params).encode(x, B);
    expectClose(thresholded, expected.a.map((a) => (a > theta ? a : 0)), 1e-5, 1e-6);
    expect(thresholded.filter((v) => v !== 0).length).not.toBe(features.filter((v) => v !== 0).length);
  });

  it("TopK encode: hand-built ties keep the lower feature index", () => {
    const shape = { dIn: 4, dSae: 4 };
    const params = zeroReluSaeParams(shape);
    for (let i = 0; i < 4; i++) params.W_enc[i * 4 + i] = params.W_dec[i * 4 + i] = 1;
    const sae = createSae(referenceKernels, { architecture: "topk", ...shape, applyBDecToInput: true, k: 2 }, params);
    expect(Array.from(sae.encode(Float32Array.from([1, 2, 2, 2, -1, 0, 0, 5]), 2))).toEqual([0, 2, 2, 0, 0, 0, 0, 5]);
    expect(() => createSae(referenceKernels, { architecture: "topk", ...shape, applyBDecToInput: true }, params).encode(new Float32Array(4), 1)).toThrow(/k = undefined/);
  });

  it("BatchTopK: sae() is a jumprelu SAE with threshold θ repeated, encoding a ⊙ 1[a > θ] with a = ReLU((x − b_dec)W_enc + b_enc)", () => {
    const trainer = batchTopk({ lr: 1e-2, thresholdStart: 1 }, 20);
    const sae = trainer.sae();
    const before = sae.encode(x, B); // θ = −1: plain ReLU
    expectClose(before, forward64(toFloat64(trainer.params), x, B, dIn, dSae).f, 1e-5, 1e-6);
    for (let step = 0; step < 6; step++) trainer.step(uniformArray(B * dIn, 420 + step), B);
    const theta = trainer.threshold;
    expect(theta).toBeGreaterThan(0);
    expect(sae.spec).toMatchObject({ architecture: "jumprelu", applyBDecToInput: true, k });
    expect(Array.from(sae.params.threshold!)).toEqual(new Array(dSae).fill(theta));
    const a = forward64(toFloat64(trainer.params), x, B, dIn, dSae).f;
    const features = sae.encode(x, B);
    expectClose(features, a.map((value) => (value > theta ? value : 0)), 1e-5, 1e-6);
    expect(features.some((v) => v > 0)).toBe(true);
  });
});

describe("in a sweep (sae/sweep.ts): killed and resumed from disk equals an uninterrupted run", () => {
  const source = (killAt?: number) => {
    let read = 0;
    return {
      d: dIn,
      hook: "blocks.1.hook_resid_post",
      async next(batchSize: number) {
        if (read === killAt) throw new Error(`killed before batch ${read}`);
        return uniformArray(batchSize * dIn, 900 + read++);
      },
      close() {},
    };
  };
  const config = parseSweepConfig(
    {
      steps: 14,
      batchSize: B,
      logSteps: 3,
      checkpointSteps: 5,
      trainers: [
        { trainer: "topk", dSae, k, lr: 1e-2, thresholdStart: 2, deadTokens: B },
        { trainer: "batch_topk", dSae: 16, k: 2, lr: 1e-2, thresholdStart: 4, deadTokens: 2 * B, kAnnealSteps: 5 },
      ],
    },
    "sweep",
  );

  it("log.jsonl, training.json and the final state match", async () => {
    const straightDir = await mkdtemp(path.join(os.tmpdir(), "sae-topk-"));
    const resumedDir = await mkdtemp(path.join(os.tmpdir(), "sae-topk-"));
    try {
      const straight = await runSweep({ config, source: source(), outDir: straightDir, kernels: referenceKernels });
      await expect(runSweep({ config, source: source(8), outDir: resumedDir, kernels: referenceKernels })).rejects.toThrow(/killed before batch 8/);
      const resumed = await runSweep({ config, source: source(), outDir: resumedDir, kernels: referenceKernels });
      expect(resumed.resumedFrom).toBe(5);
      for (let i = 0; i < 2; i++) {
        for (const file of ["log.jsonl", "training.json"]) {
          const read = (dir: string) => readFileSync(path.join(dir, `trainer_${i}`, file), "utf8");
          expect(read(resumedDir)).toBe(read(straightDir));
        }
        expect(resumed.trainers[i].state()).toEqual(straight.trainers[i].state());
      }
      const log = readFileSync(path.join(straightDir, "trainer_0", "log.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
      expect(log.at(-1)).toMatchObject({ step: 13, k, dead_features: expect.any(Number), threshold: expect.any(Number) });
    } finally {
      await rm(straightDir, { recursive: true, force: true });
      await rm(resumedDir, { recursive: true, force: true });
    }
  });
});

describe("ground-truth recovery (superposition toy data)", async () => {
  const { kernels } = await selectKernels({ threads: 1 });
  for (const [name, make] of [
    ["TopK", (config: Record<string, unknown>, context: { kernels: Kernels; dIn: number; totalSteps: number; batchSize: number }) =>
      new TopKTrainer(topKConfigSchema.parse({ trainer: "topk", ...config }), context)],
    ["BatchTopK", (config: Record<string, unknown>, context: { kernels: Kernels; dIn: number; totalSteps: number; batchSize: number }) =>
      new BatchTopKTrainer(batchTopKConfigSchema.parse({ trainer: "batch_topk", ...config }), context)],
  ] as const) {
    it(`a ${name} SAE (d_sae 128, k 4) recovers 64 true directions in R^32: mean max cosine ≥ 0.9 (${kernels.name} kernels)`, () => {
      const data = sparseDictionary(32, 64, 7);
      const steps = 600;
      const trainer = make({ dSae: 128, k: 4, lr: 3e-3, seed: 1, deadTokens: 256 * 50 }, { kernels, dIn: 32, totalSteps: steps, batchSize: 256 });
      for (let step = 0; step < steps; step++) trainer.step(data.batch(256, 3), 256);
      expect(meanMaxCosine(data.directions, trainer.params.W_dec, 64, 128, 32)).toBeGreaterThanOrEqual(0.9);
    });
  }
});
