// Dead-neuron resampling, Anthropic's recipe as spec sae.md §2.8 states it (standard and p_anneal; off by default).
//
// Interface:
//   DeadFeatureTracker(dSae)                  stepsSinceActive per feature; observe(features, B) every step
//   isResampleStep(step, R)                   s mod R = R − 1 (dictionary_learning resamples after that step's update)
//   ResamplePool(poolBatches, rowWidth)       the last `poolBatches` batches (copies), checkpointable
//   resampleDeadFeatures({...}) → resampled feature indices
//
// The trainer calls, after the Adam step of a resample step: dead = stepsSinceActive ≥ R/2 → resampleDeadFeatures
// with the pool and its post-update weights; the LR warm-up restart is lrFactor's (sae/schedule.ts).

import { randomBelow } from "../boards/random.js";
import type { Adam } from "./optim.js";
import type { Sae } from "./params.js";
import type { SaeRandom } from "./random.js";
import type { ReluSaeParams } from "./trainers/relu-sae.js";

/** Steps since each feature last had a positive activation somewhere in a batch. */
export class DeadFeatureTracker {
  readonly stepsSinceActive: Int32Array;
  private readonly active: Uint8Array;

  constructor(readonly dSae: number) {
    this.stepsSinceActive = new Int32Array(dSae);
    this.active = new Uint8Array(dSae);
  }

  /** One step's features [B, dSae]: reset the counter of every feature that fired, count up the rest. */
  observe(features: Float32Array, batchSize: number): void {
    const { dSae, active } = this;
    active.fill(0);
    for (let b = 0; b < batchSize; b++) {
      const o = b * dSae;
      for (let i = 0; i < dSae; i++) if (features[o + i] > 0) active[i] = 1;
    }
    for (let i = 0; i < dSae; i++) this.stepsSinceActive[i] = active[i] ? 0 : this.stepsSinceActive[i] + 1;
  }

  /**
   * spec §2.8 (1): features with no positive activation in the last R/2 steps (counter ≥ R/2; dictionary_learning's
   * `> R/2` would ask for one step more).
   */
  dead(resampleSteps: number): number[] {
    const dead: number[] = [];
    for (let i = 0; i < this.dSae; i++) if (this.stepsSinceActive[i] >= resampleSteps / 2) dead.push(i);
    return dead;
  }
}

/** Whether 0-based step s ends a resampling period of R steps. */
export function isResampleStep(step: number, resampleSteps: number): boolean {
  return step % resampleSteps === resampleSteps - 1;
}

/** The last `poolBatches` training batches, the inputs resampling draws from (spec §2.8 (2); default 1). */
export class ResamplePool {
  private batches: Float32Array[] = [];

  constructor(
    readonly poolBatches: number,
    readonly rowWidth: number,
  ) {}

  /** Adds this step's batch (copied only when older batches must be kept). */
  push(batch: Float32Array): void {
    this.batches.push(this.poolBatches === 1 ? batch : batch.slice());
    if (this.batches.length > this.poolBatches) this.batches.shift();
  }

  /** All pooled rows, oldest batch first, [rows, rowWidth]. */
  rows(): Float32Array {
    if (this.batches.length === 1) return this.batches[0];
    const total = this.batches.reduce((sum, batch) => sum + batch.length, 0);
    const rows = new Float32Array(total);
    let offset = 0;
    for (const batch of this.batches) {
      rows.set(batch, offset);
      offset += batch.length;
    }
    return rows;
  }

  /** Copies of the batches the next resampling can still draw from (the last poolBatches − 1), for a checkpoint. */
  held(): Float32Array[] {
    const keep = this.poolBatches - 1;
    return keep === 0 ? [] : this.batches.slice(-keep).map((batch) => batch.slice());
  }

  restore(batches: Float32Array[]): void {
    this.batches = batches.map((batch) => batch.slice());
  }
}

/**
 * Draws `count` distinct eligible indices with probability ∝ weight, one at a time without replacement
 * (torch.multinomial); once every eligible weight left is 0, uniformly among the eligible rows left.
 */
function weightedSampleWithoutReplacement(weights: Float64Array, eligible: Uint8Array, count: number, random: SaeRandom): number[] {
  const remaining = weights.map((weight, i) => (eligible[i] ? weight : -1));
  const chosen: number[] = [];
  for (let draw = 0; draw < count; draw++) {
    let total = 0;
    for (let i = 0; i < remaining.length; i++) if (remaining[i] > 0) total += remaining[i];
    let pick = -1;
    if (total > 0) {
      let target = random.uniform() * total;
      for (let i = 0; i < remaining.length; i++) {
        if (remaining[i] <= 0) continue;
        pick = i;
        target -= remaining[i];
        if (target < 0) break;
      }
    } else {
      // every remaining row is reconstructed exactly: draw uniformly among those not yet chosen
      const open = [...remaining.keys()].filter((i) => remaining[i] === 0);
      if (open.length === 0) break;
      pick = open[randomBelow(random.next, open.length)];
    }
    chosen.push(pick);
    remaining[pick] = -1;
  }
  return chosen;
}

export interface ResampleArgs {
  params: ReluSaeParams;
  optimizer: Adam;
  /** Dead feature indices, ascending. */
  dead: number[];
  /** Candidate inputs [rows, dIn]. */
  pool: Float32Array;
  /** The SAE in inference form over `params` (post-update weights, as the reference). */
  sae: Sae;
  random: SaeRandom;
}

/**
 * spec §2.8 (2)–(4): sample min(|dead|, rows) inputs ∝ ‖x − x̂‖²; the i-th dead feature (ascending) gets the i-th
 * sample x: W_dec row = x/‖x‖, W_enc column = (x/‖x‖)·0.2·(mean ‖W_enc column‖ over alive features; 1 if none),
 * b_enc = 0, and its Adam m and v entries zeroed. Rows with x = 0 are never drawn. Returns the resampled features.
 */
export function resampleDeadFeatures({ params, optimizer, dead, pool, sae, random }: ResampleArgs): number[] {
  if (dead.length === 0) return [];
  const { dIn, dSae } = sae.spec;
  const rows = pool.length / dIn;
  const reconstruction = sae.decode(sae.encode(pool, rows), rows);
  const weights = new Float64Array(rows);
  const inputNorms = new Float64Array(rows);
  for (let b = 0; b < rows; b++) {
    let errorSq = 0;
    let normSq = 0;
    for (let j = 0; j < dIn; j++) {
      const x = pool[b * dIn + j];
      errorSq += (x - reconstruction[b * dIn + j]) ** 2;
      normSq += x * x;
    }
    inputNorms[b] = Math.sqrt(normSq);
    weights[b] = errorSq;
  }
  const eligible = inputNorms.map((norm) => (norm > 0 ? 1 : 0));
  const usable = eligible.reduce((count, flag) => count + flag, 0);
  const samples = weightedSampleWithoutReplacement(weights, Uint8Array.from(eligible), Math.min(dead.length, usable), random);

  const isDead = new Uint8Array(dSae);
  for (const i of dead) isDead[i] = 1;
  let aliveNormSum = 0;
  for (let i = 0; i < dSae; i++) {
    if (isDead[i]) continue;
    let normSq = 0;
    for (let j = 0; j < dIn; j++) normSq += params.W_enc[j * dSae + i] ** 2;
    aliveNormSum += Math.sqrt(normSq);
  }
  const alive = dSae - dead.length;
  const encoderScale = 0.2 * (alive > 0 ? aliveNormSum / alive : 1);

  const encoderMoments = optimizer.moments("W_enc");
  const biasMoments = optimizer.moments("b_enc");
  const decoderMoments = optimizer.moments("W_dec");
  const resampled = dead.slice(0, samples.length);
  resampled.forEach((feature, n) => {
    const b = samples[n];
    for (let j = 0; j < dIn; j++) {
      const direction = pool[b * dIn + j] / inputNorms[b];
      params.W_dec[feature * dIn + j] = direction;
      params.W_enc[j * dSae + feature] = direction * encoderScale;
      for (const moments of [encoderMoments.m, encoderMoments.v]) moments[j * dSae + feature] = 0;
      for (const moments of [decoderMoments.m, decoderMoments.v]) moments[feature * dIn + j] = 0;
    }
    params.b_enc[feature] = 0;
    biasMoments.m[feature] = 0;
    biasMoments.v[feature] = 0;
  });
  return resampled;
}
