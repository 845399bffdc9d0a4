// Activation normalisation (spec sae.md §1.4; Gemma Scope §3.1, dictionary_learning get_norm_factor/scale_biases):
// a trainer that asks for "unit-mean-squared-norm" trains on x/c, c = √(mean over the first 100 batches of
// mean_b ‖x‖²), and its saved SAE has c folded into the biases so that it reads raw activations.
//
// Interface:
//   NORMALIZATIONS / Normalization            "none" | "unit-mean-squared-norm"
//   NORMALIZATION_BATCHES                     100: batches c is estimated from
//   meanSquaredNorm(batch, batchSize, d)      mean_b ‖x_b‖² in float64
//   estimateActivationScale(next, d, count)   c from the first `count` batches `next` returns (fewer if it ends)
//   scaleActivations(batch, c, out?)          x/c (float32, correctly rounded)
//   foldActivationScale(params, c)            a copy with b_dec, b_enc, b_gate, b_mag, threshold ×c: on raw x it gives
//                                             features ×c and reconstructions in raw units (W_enc, W_dec, r_mag unchanged)
//   NormalizationError
//
// The sweep (sae/sweep.ts) estimates c once for all normalising trainers and records it in their training.json.

import type { SaeParams } from "./params.js";

export const NORMALIZATIONS = ["none", "unit-mean-squared-norm"] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

/** spec §1.4: c is estimated from the first 100 batches (the reference averages 101: its loop breaks at step > 100). */
export const NORMALIZATION_BATCHES = 100;

/** No usable scale: no batch, a non-finite value, or activations that are all zero. */
export class NormalizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NormalizationError";
  }
}

/** mean_b ‖x_b‖² of a batch [batchSize, d], accumulated in float64. */
export function meanSquaredNorm(batch: Float32Array, batchSize: number, d: number): number {
  if (batch.length !== batchSize * d) throw new NormalizationError(`meanSquaredNorm: batch has ${batch.length} values, expected [${batchSize}, ${d}] = ${batchSize * d}`);
  let sum = 0;
  for (let i = 0; i < batch.length; i++) sum += batch[i] * batch[i];
  return sum / batchSize;
}

/**
 * c = √(mean over batches of mean_b ‖x‖²) over the first `count` batches `next()` returns (batches of any row
 * count; the estimate stops early when `next` returns null). `label` names the data in errors.
 */
export async function estimateActivationScale(
  next: () => Promise<Float32Array | null>,
  d: number,
  count: number,
  label: string,
): Promise<{ scale: number; batches: number }> {
  let total = 0;
  let batches = 0;
  while (batches < count) {
    const batch = await next();
    if (batch === null) break;
    if (batch.length === 0 || batch.length % d !== 0) throw new NormalizationError(`${label}: batch ${batches} has ${batch.length} values, not rows of d = ${d}`);
    total += meanSquaredNorm(batch, batch.length / d, d);
    batches++;
  }
  if (batches === 0) throw new NormalizationError(`${label}: no batch to estimate the activation scale from`);
  const scale = Math.sqrt(total / batches);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new NormalizationError(`${label}: activation scale c = ${scale} from ${batches} batches (mean squared norm ${total / batches}); expected a finite positive number`);
  }
  return { scale, batches };
}

/** x/c, element by element, into `out` (a new array unless given; may alias `batch`). */
export function scaleActivations(batch: Float32Array, scale: number, out = new Float32Array(batch.length)): Float32Array {
  for (let i = 0; i < batch.length; i++) out[i] = batch[i] / scale;
  return out;
}

/** The bias-like tensors that carry activation units (spec §1.4). */
const SCALED_TENSORS = ["b_dec", "b_enc", "b_gate", "b_mag", "threshold"] as const;

/**
 * spec §1.4 folding: params trained on x/c → params for raw x. Every pre-activation of the folded SAE is c times the
 * trained one, so thresholds and gates select the same features, features come out ×c and x̂ in raw units.
 * (A TopK scalar inference threshold kept outside SaeParams must be ×c as well.)
 */
export function foldActivationScale(params: SaeParams, scale: number): SaeParams {
  if (!Number.isFinite(scale) || scale <= 0) throw new NormalizationError(`foldActivationScale: c = ${scale}, expected a finite positive number`);
  const folded: Partial<Record<string, Float32Array>> = {};
  for (const [name, tensor] of Object.entries(params) as [string, Float32Array | undefined][]) if (tensor !== undefined) folded[name] = tensor.slice();
  for (const name of SCALED_TENSORS) {
    const tensor = folded[name];
    if (tensor !== undefined) for (let i = 0; i < tensor.length; i++) tensor[i] *= scale;
  }
  return folded as unknown as SaeParams;
}
