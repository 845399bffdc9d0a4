// Float64 references for the SAE tests, written directly from spec sae.md §0, §2.1, §2.2: the ReLU SAE forward pass
// and its loss, loop by loop, plus seeded data helpers, central differences, the batch FVE and dictionary recovery.

import { fillNormal } from "../../model/init.js";
import { SaeRandom } from "../../sae/random.js";

export interface Params64 {
  W_enc: Float64Array; // [dIn, dSae]
  b_enc: Float64Array; // [dSae]
  W_dec: Float64Array; // [dSae, dIn]
  b_dec: Float64Array; // [dIn]
}

export const PARAM_NAMES = ["W_enc", "b_enc", "W_dec", "b_dec"] as const;

export function toFloat64(params: Record<(typeof PARAM_NAMES)[number], Float32Array>): Params64 {
  return {
    W_enc: Float64Array.from(params.W_enc),
    b_enc: Float64Array.from(params.b_enc),
    W_dec: Float64Array.from(params.W_dec),
    b_dec: Float64Array.from(params.b_dec),
  };
}

export type Sparsity64 =
  | { kind: "l1"; coefficient: number }
  | { kind: "Lp^p" | "Lp"; p: number; coefficient: number };

export interface Forward64 {
  z: Float64Array; // [B, dSae]
  f: Float64Array; // [B, dSae]
  xHat: Float64Array; // [B, dIn]
}

/** z = (x − b_dec)W_enc + b_enc, f = ReLU(z), x̂ = f·W_dec + b_dec. */
export function forward64(p: Params64, x: ArrayLike<number>, batchSize: number, dIn: number, dSae: number): Forward64 {
  const z = new Float64Array(batchSize * dSae);
  const f = new Float64Array(batchSize * dSae);
  const xHat = new Float64Array(batchSize * dIn);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < dSae; i++) {
      let sum = p.b_enc[i];
      for (let j = 0; j < dIn; j++) sum += (x[b * dIn + j] - p.b_dec[j]) * p.W_enc[j * dSae + i];
      z[b * dSae + i] = sum;
      f[b * dSae + i] = Math.max(0, sum);
    }
    for (let j = 0; j < dIn; j++) {
      let sum = p.b_dec[j];
      for (let i = 0; i < dSae; i++) sum += f[b * dSae + i] * p.W_dec[i * dIn + j];
      xHat[b * dIn + j] = sum;
    }
  }
  return { z, f, xHat };
}

/** The sparsity penalty of features f (without coefficient): mean_b Σ f, mean_b Σ f^p, or mean_b (Σ f^p)^{1/p}. */
export function penalty64(f: ArrayLike<number>, batchSize: number, dSae: number, kind: Sparsity64["kind"], p = 1): number {
  let total = 0;
  for (let b = 0; b < batchSize; b++) {
    let row = 0;
    for (let i = 0; i < dSae; i++) {
      const value = f[b * dSae + i];
      if (value > 0) row += kind === "l1" ? value : value ** p;
    }
    total += kind === "Lp" ? row ** (1 / p) : row;
  }
  return total / batchSize;
}

/** spec §0 recon (l2sq: mean_b ‖x − x̂‖², l2: mean_b ‖x − x̂‖) plus the sparsity term. */
export function loss64(
  p: Params64,
  x: ArrayLike<number>,
  batchSize: number,
  dIn: number,
  dSae: number,
  recon: "l2sq" | "l2",
  sparsity: Sparsity64,
): { loss: number; reconstruction: number; mse: number; penalty: number; forward: Forward64 } {
  const forward = forward64(p, x, batchSize, dIn, dSae);
  let reconstruction = 0;
  let mse = 0;
  for (let b = 0; b < batchSize; b++) {
    let errorSq = 0;
    for (let j = 0; j < dIn; j++) errorSq += (x[b * dIn + j] - forward.xHat[b * dIn + j]) ** 2;
    mse += errorSq / batchSize;
    reconstruction += (recon === "l2sq" ? errorSq : Math.sqrt(errorSq)) / batchSize;
  }
  const penalty = penalty64(forward.f, batchSize, dSae, sparsity.kind, sparsity.kind === "l1" ? 1 : sparsity.p);
  return { loss: reconstruction + sparsity.coefficient * penalty, reconstruction, mse, penalty, forward };
}

/** Seeded uniform values in [-scale, scale). */
export function uniformArray(n: number, seed: number, scale = 1): Float32Array {
  const random = new SaeRandom(seed);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (random.uniform() * 2 - 1) * scale;
  return values;
}

/**
 * Superposition toy data: `count` unit-norm true directions in R^dIn (seeded Gaussians), each row a nonnegative
 * combination of the directions that fire (each independently with probability active/count, coefficient U[0.5, 2.5)).
 */
export function sparseDictionary(dIn: number, count: number, seed: number) {
  const random = new SaeRandom(seed);
  const directions = new Float32Array(count * dIn);
  fillNormal(random.next, directions, 1);
  for (let i = 0; i < count; i++) {
    const row = directions.subarray(i * dIn, (i + 1) * dIn);
    const norm = Math.hypot(...row);
    for (let j = 0; j < dIn; j++) row[j] /= norm;
  }
  return {
    directions,
    batch(batchSize: number, active: number): Float32Array {
      const x = new Float32Array(batchSize * dIn);
      for (let b = 0; b < batchSize; b++) {
        for (let i = 0; i < count; i++) {
          if (random.uniform() >= active / count) continue;
          const coefficient = 0.5 + 2 * random.uniform();
          for (let j = 0; j < dIn; j++) x[b * dIn + j] += coefficient * directions[i * dIn + j];
        }
      }
      return x;
    },
  };
}

/** Mean over the `count` unit true directions [count, dIn] of the best cosine with a unit decoder row [dSae, dIn]. */
export function meanMaxCosine(directions: Float32Array, decoder: Float32Array, count: number, dSae: number, dIn: number): number {
  let total = 0;
  for (let t = 0; t < count; t++) {
    let best = -1;
    for (let i = 0; i < dSae; i++) {
      let dot = 0;
      for (let j = 0; j < dIn; j++) dot += directions[t * dIn + j] * decoder[i * dIn + j];
      best = Math.max(best, dot);
    }
    total += best;
  }
  return total / count;
}

/** Row norms of w [rows, cols] in float64. */
export function rowNorms(w: Float32Array, cols: number): number[] {
  const norms: number[] = [];
  for (let o = 0; o < w.length; o += cols) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += w[o + j] * w[o + j];
    norms.push(Math.sqrt(sum));
  }
  return norms;
}

/** Central differences of `f` with respect to every entry of one tensor (changed in place and restored). */
export function centralDifferences(values: Float64Array, f: () => number, h = 1e-5): Float64Array {
  const numeric = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const saved = values[i];
    values[i] = saved + h;
    const plus = f();
    values[i] = saved - h;
    const minus = f();
    values[i] = saved;
    numeric[i] = (plus - minus) / (2 * h);
  }
  return numeric;
}

/** spec §3 batch FVE in float64: 1 − Σ_d Var_b(x_d − x̂_d) / Σ_d Var_b(x_d), x and x̂ [batchSize, dIn]. */
export function fve64(x: ArrayLike<number>, xHat: ArrayLike<number>, batchSize: number, dIn: number): number {
  const sumOfSquares = (values: (b: number) => number) => {
    const mean = Array.from({ length: batchSize }, (_, b) => values(b)).reduce((a, v) => a + v, 0) / batchSize;
    return Array.from({ length: batchSize }, (_, b) => (values(b) - mean) ** 2).reduce((a, v) => a + v, 0);
  };
  let residualVariance = 0;
  let totalVariance = 0;
  for (let j = 0; j < dIn; j++) {
    residualVariance += sumOfSquares((b) => x[b * dIn + j] - xHat[b * dIn + j]);
    totalVariance += sumOfSquares((b) => x[b * dIn + j]);
  }
  return 1 - residualVariance / totalVariance;
}
