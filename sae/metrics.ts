// SAE evaluation metrics (spec sae.md §3) with the saved inference encode: reconstruction metrics on held-out
// activation rows, reduced in float64 batch by batch, and the model-level metrics — cross-entropy and KL with the
// hook activation replaced by the SAE's reconstruction or by zeros at every real position (loss recovered, KL score).
//
// Interface:
//   readRows(source, maxRows) → { rows, tokens }               rows of an ActivationSource (until it ends or maxRows)
//   reconstructionMetrics(sae, x, tokens, batchSize?) → { metrics: ReconstructionMetrics, density }
//   densityHistogram(logDensity, binWidth?) → { edges, counts }   histogram of log10 feature density over [−10, 0]
//   spliceMetrics(model, sae, hook, games, batchSize?) → SpliceMetrics
//   SaeMetricsError

import type * as tfTypes from "@tensorflow/tfjs";
import type { GameRow } from "../boards/game-dataset.js";
import { realPositions } from "../data/activation-cache.js";
import { maskedCrossEntropySum } from "../model/evaluate.js";
import type { Gpt } from "../model/gpt.js";
import { hookShape, run, type HookFn } from "../model/interventions.js";
import { gatherSequences, tokenSequences } from "../model/training-data.js";
import { DENSITY_EPSILON } from "./files.js";
import type { Sae } from "./params.js";
import type { ActivationSource } from "./sweep.js";

/** Inputs the metrics cannot be computed on (no rows, a width or hook that does not fit the SAE). */
export class SaeMetricsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SaeMetricsError";
  }
}

/** spec §3 reconstruction metrics over `tokens` rows. */
export interface ReconstructionMetrics {
  tokens: number;
  /** mean_b #{i : f_i ≠ 0} */
  l0: number;
  /** mean_b Σ_i |f_i| */
  l1: number;
  /** mean_b ‖x − x̂‖² */
  mse: number;
  /** mean_b ‖x − x̂‖ */
  l2_loss: number;
  /** 1 − Σ_d Var_b(x_d − x̂_d) / Σ_d Var_b(x_d) */
  fve: number;
  /** mean_b [1 − ‖x_b − x̂_b‖² / ‖x_b − x̄‖²] */
  fve_per_token: number;
  /** Features with f_i ≠ 0 on ≥ 1 token, and the fraction of them / of the rest. */
  alive: number;
  frac_alive: number;
  frac_dead: number;
  /** mean_b ⟨x, x̂⟩/(‖x‖·‖x̂‖), the denominator clamped to 1e-8 as torch's cosine_similarity. */
  cossim: number;
  /** mean_b ‖x̂‖/‖x‖ over rows with x ≠ 0. */
  l2_ratio: number;
  /** mean_b ‖x̂‖² / mean_b ⟨x, x̂⟩ (Gated paper eq. 10). */
  relative_reconstruction_bias: number;
}

/** Reads batches of `source` until it ends or `maxRows` rows are read (the last batch is cut). */
export async function readRows(source: ActivationSource, maxRows: number, batchSize = 4096): Promise<{ rows: Float32Array; tokens: number }> {
  const { d } = source;
  const parts: Float32Array[] = [];
  let tokens = 0;
  while (tokens < maxRows) {
    const batch = await source.next(Math.min(batchSize, maxRows - tokens));
    if (batch === null) break;
    parts.push(batch);
    tokens += batch.length / d;
  }
  const rows = new Float32Array(tokens * d);
  let offset = 0;
  for (const part of parts) {
    rows.set(part, offset);
    offset += part.length;
  }
  return { rows, tokens };
}

/** Σ_d Var_b(x_d) of all rows, merged batch by batch (Chan et al.): per-column count, mean and M2 in float64. */
class ColumnVariance {
  private count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(private readonly d: number) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }

  /** Adds rows whose value at (b, j) is value(b, j). */
  add(rows: number, value: (b: number, j: number) => number): void {
    const { d, mean, m2 } = this;
    const batchMean = new Float64Array(d);
    for (let b = 0; b < rows; b++) for (let j = 0; j < d; j++) batchMean[j] += value(b, j);
    for (let j = 0; j < d; j++) batchMean[j] /= rows;
    const total = this.count + rows;
    for (let j = 0; j < d; j++) {
      let batchM2 = 0;
      for (let b = 0; b < rows; b++) batchM2 += (value(b, j) - batchMean[j]) ** 2;
      const delta = batchMean[j] - mean[j];
      m2[j] += batchM2 + (delta * delta * this.count * rows) / total;
      mean[j] += (delta * rows) / total;
    }
    this.count = total;
  }

  /** Σ_d of the population variances. */
  summed(): number {
    let sum = 0;
    for (let j = 0; j < this.d; j++) sum += this.m2[j];
    return sum / this.count;
  }
}

/**
 * spec §3 reconstruction metrics of `sae` on rows x [tokens, dIn], encoded batchSize rows at a time; `density` is
 * each feature's fraction of tokens with f_i > 0.
 */
export function reconstructionMetrics(sae: Sae, x: Float32Array, tokens: number, batchSize = 4096): { metrics: ReconstructionMetrics; density: Float64Array } {
  const { dIn: d, dSae } = sae.spec;
  if (!Number.isInteger(tokens) || tokens < 1) throw new SaeMetricsError(`reconstruction metrics need at least one row, got ${tokens}`);
  if (x.length !== tokens * d) throw new SaeMetricsError(`activations hold ${x.length} values, expected [${tokens}, d_in ${d}] = ${tokens * d}`);
  // x̄ first: fve_per_token measures each row against the mean of all eval rows.
  const xMean = new Float64Array(d);
  for (let b = 0; b < tokens; b++) for (let j = 0; j < d; j++) xMean[j] += x[b * d + j];
  for (let j = 0; j < d; j++) xMean[j] /= tokens;

  const inputVariance = new ColumnVariance(d);
  const residualVariance = new ColumnVariance(d);
  const fired = new Float64Array(dSae); // tokens with f_i > 0
  const nonzero = new Uint8Array(dSae); // f_i ≠ 0 on some token
  let l0 = 0, l1 = 0, mse = 0, l2 = 0, fvePerToken = 0, cossim = 0, l2Ratio = 0, ratioRows = 0, reconSq = 0, inner = 0;
  for (let start = 0; start < tokens; start += batchSize) {
    const rows = Math.min(batchSize, tokens - start);
    const batch = x.subarray(start * d, (start + rows) * d);
    const features = sae.encode(batch, rows);
    const reconstruction = sae.decode(features, rows);
    for (let b = 0; b < rows; b++) {
      for (let i = 0; i < dSae; i++) {
        const f = features[b * dSae + i];
        if (f !== 0) {
          l0++;
          l1 += Math.abs(f);
          nonzero[i] = 1;
        }
        if (f > 0) fired[i]++;
      }
      let errorSq = 0, inputSq = 0, outputSq = 0, dot = 0, centredSq = 0;
      for (let j = 0; j < d; j++) {
        const xj = batch[b * d + j];
        const yj = reconstruction[b * d + j];
        errorSq += (xj - yj) ** 2;
        inputSq += xj * xj;
        outputSq += yj * yj;
        dot += xj * yj;
        centredSq += (xj - xMean[j]) ** 2;
      }
      mse += errorSq;
      l2 += Math.sqrt(errorSq);
      fvePerToken += 1 - errorSq / centredSq;
      cossim += dot / Math.max(Math.sqrt(inputSq) * Math.sqrt(outputSq), 1e-8);
      if (inputSq > 0) {
        l2Ratio += Math.sqrt(outputSq / inputSq);
        ratioRows++;
      }
      reconSq += outputSq;
      inner += dot;
    }
    inputVariance.add(rows, (b, j) => batch[b * d + j]);
    residualVariance.add(rows, (b, j) => batch[b * d + j] - reconstruction[b * d + j]);
  }
  const alive = nonzero.reduce((sum, flag) => sum + flag, 0);
  const density = Float64Array.from(fired, (count) => count / tokens);
  return {
    metrics: {
      tokens,
      l0: l0 / tokens,
      l1: l1 / tokens,
      mse: mse / tokens,
      l2_loss: l2 / tokens,
      fve: 1 - residualVariance.summed() / inputVariance.summed(),
      fve_per_token: fvePerToken / tokens,
      alive,
      frac_alive: alive / dSae,
      frac_dead: 1 - alive / dSae,
      cossim: cossim / tokens,
      l2_ratio: ratioRows > 0 ? l2Ratio / ratioRows : NaN,
      relative_reconstruction_bias: reconSq / tokens / (inner / tokens),
    },
    density,
  };
}

/** Counts of log10 feature densities in bins of `binWidth` over [log10(1e-10), 0]; edges has one more entry. */
export function densityHistogram(logDensity: ArrayLike<number>, binWidth = 0.5): { edges: number[]; counts: number[] } {
  const low = Math.log10(DENSITY_EPSILON);
  const bins = Math.ceil(-low / binWidth);
  const edges = Array.from({ length: bins + 1 }, (_, i) => low + i * binWidth);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < logDensity.length; i++) {
    const bin = Math.floor((logDensity[i] - low) / binWidth);
    counts[Math.min(bins - 1, Math.max(0, bin))]++;
  }
  return { edges, counts };
}

/** spec §3 model-level metrics: next-token CE clean / with x̂ / with zeros at the hook, loss recovered, KL. */
export interface SpliceMetrics {
  games: number;
  /** Target positions scored (targets 1..L−1 of each context; pads ignored); CE and KL average over them. */
  positions: number;
  ce_clean: number;
  ce_sae: number;
  ce_zero: number;
  /** (ce_zero − ce_sae)/(ce_zero − ce_clean) */
  loss_recovered: number;
  /** mean over the positions of KL(P_clean ‖ P_variant) */
  kl_sae: number;
  kl_zero: number;
  /** (kl_zero − kl_sae)/kl_zero */
  kl_score: number;
}

/**
 * A hook replacing the activation at every real position (t < lengths[b]) by the SAE's reconstruction, or by zeros;
 * padding positions keep their values (the causal mask keeps them from reaching real positions).
 */
function replacementHook(tf: typeof tfTypes, sae: Sae | null): HookFn {
  return (x, ctx) => {
    const [B, T] = x.shape;
    const width = x.size / (B * T);
    const values = Float32Array.from(x.dataSync() as Float32Array);
    const real: number[] = []; // flat b·T + t of real positions
    for (let b = 0; b < B; b++) for (let t = 0; t < ctx.lengths[b]; t++) real.push(b * T + t);
    if (sae === null) {
      for (const flat of real) values.fill(0, flat * width, (flat + 1) * width);
    } else if (real.length > 0) {
      const rows = new Float32Array(real.length * width);
      real.forEach((flat, r) => rows.set(values.subarray(flat * width, (flat + 1) * width), r * width));
      const reconstruction = sae.decode(sae.encode(rows, real.length), real.length);
      real.forEach((flat, r) => values.set(reconstruction.subarray(r * width, (r + 1) * width), flat * width));
    }
    return tf.tensor(values, x.shape);
  };
}

/**
 * Cross-entropy and KL of `model` on `games` with `hook`'s activation replaced by the SAE's reconstruction, by zeros,
 * or left alone, batchSize games per run. CE over each context's targets 1..L−1 (pad targets ignored), KL over the
 * same positions; sums in float64 across batches.
 */
export function spliceMetrics(model: Gpt, sae: Sae, hook: string, games: readonly GameRow[], batchSize = 32): SpliceMetrics {
  const { tf, config } = model;
  if (games.length === 0) throw new SaeMetricsError("loss recovered needs at least one game");
  const width = hookShape(config, hook, 1, 1).slice(2).reduce((a, b) => a * b, 1); // UnknownHookError for a bad name
  if (width !== sae.spec.dIn) throw new SaeMetricsError(`hook "${hook}" of ${config.model_name} has width ${width}, the SAE has d_in ${sae.spec.dIn}`);
  const data = tokenSequences(config, games);
  const T = config.n_ctx;
  const sums = { clean: 0, sae: 0, zero: 0, klSae: 0, klZero: 0, positions: 0 };
  for (let start = 0; start < data.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
    const batch = gatherSequences(data, indices);
    const B = batch.count;
    const lengths = indices.map((index) => Math.max(1, realPositions(config, games[index])));
    const tokens = tf.tensor2d(batch.inputs, [B, T], "int32");
    const logits = (hookFn?: HookFn) => run(model, tokens, lengths, hookFn ? { hooks: { [hook]: hookFn } } : {}).logits as tfTypes.Tensor3D;
    const clean = logits();
    const withSae = logits(replacementHook(tf, sae));
    const zeroed = logits(replacementHook(tf, null));
    const values = tf.tidy(() => {
      const targets = tf.tensor2d(batch.targets, [B, T], "int32");
      const mask = tf.tensor2d(batch.mask, [B, T], "float32");
      const cleanLog = tf.logSoftmax(clean, -1);
      const cleanProbabilities = tf.exp(cleanLog);
      const kl = (variant: tfTypes.Tensor3D) => cleanProbabilities.mul(cleanLog.sub(tf.logSoftmax(variant, -1))).sum(-1).mul(mask).sum();
      return tf.stack([
        maskedCrossEntropySum(tf, clean, targets, mask), maskedCrossEntropySum(tf, withSae, targets, mask), maskedCrossEntropySum(tf, zeroed, targets, mask),
        kl(withSae), kl(zeroed), mask.sum(),
      ]).dataSync();
    });
    tf.dispose([tokens, clean, withSae, zeroed]);
    sums.clean += values[0];
    sums.sae += values[1];
    sums.zero += values[2];
    sums.klSae += values[3];
    sums.klZero += values[4];
    sums.positions += values[5];
  }
  const n = sums.positions;
  if (n === 0) throw new SaeMetricsError(`the ${games.length} games have no target positions to score`);
  const [ceClean, ceSae, ceZero, klSae, klZero] = [sums.clean / n, sums.sae / n, sums.zero / n, sums.klSae / n, sums.klZero / n];
  return {
    games: games.length,
    positions: n,
    ce_clean: ceClean,
    ce_sae: ceSae,
    ce_zero: ceZero,
    loss_recovered: (ceZero - ceSae) / (ceZero - ceClean),
    kl_sae: klSae,
    kl_zero: klZero,
    kl_score: (klZero - klSae) / klZero,
  };
}
