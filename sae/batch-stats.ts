// L0 and fraction of variance explained on one training batch (spec sae.md §1.5 logs; definitions of spec §3),
// reduced in float64.
//
// Interface:
//   meanL0(features, batchSize)              mean_b #{i : f_i ≠ 0}
//   batchFve(x, xHat, batchSize, d)          1 − Σ_d Var_b(x_d − x̂_d) / Σ_d Var_b(x_d)

export function meanL0(features: Float32Array, batchSize: number): number {
  let nonzero = 0;
  for (let i = 0; i < features.length; i++) if (features[i] !== 0) nonzero++;
  return nonzero / batchSize;
}

/** Σ_d Var_b(column d) of a [batchSize, d] array: two passes (means, then squared deviations), population form. */
function summedColumnVariance(values: (b: number, j: number) => number, batchSize: number, d: number): number {
  const means = new Float64Array(d);
  for (let b = 0; b < batchSize; b++) for (let j = 0; j < d; j++) means[j] += values(b, j);
  for (let j = 0; j < d; j++) means[j] /= batchSize;
  let total = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let j = 0; j < d; j++) {
      const deviation = values(b, j) - means[j];
      total += deviation * deviation;
    }
  }
  return total / batchSize;
}

/** spec §3 `fve` (dictionary_learning): 1 − Σ_d Var_b(x_d − x̂_d) / Σ_d Var_b(x_d). */
export function batchFve(x: Float32Array, xHat: Float32Array, batchSize: number, d: number): number {
  const residual = summedColumnVariance((b, j) => x[b * d + j] - xHat[b * d + j], batchSize, d);
  const total = summedColumnVariance((b, j) => x[b * d + j], batchSize, d);
  return 1 - residual / total;
}
