// p-annealing (spec sae.md §2.2; Karvonen et al. 2024; dictionary_learning PAnnealTrainer): the Lp^p sparsity
// penalty with its gradient, the p schedule U[k]/P[k] and the α rescaling over the last batches. Shared by the
// p_anneal trainer and gated_anneal, which applies the same schedule to ReLU(π_gate).
//
// Interface:
//   SPARSITY_FUNCTIONS / SparsityFunction    "Lp^p" (S_p = mean_b Σ_i f_i^p, default) | "Lp" (mean_b (Σ_i f_i^p)^{1/p})
//   annealUpdateSteps(start, end, n)         U[k] = trunc(start + k·(end − start)/(n − 1))
//   annealPValues(pStart, pEnd, n)           P[k] = pStart + k·(pEnd − pStart)/(n − 1)
//   PAnnealOptions, PAnnealState, PAnnealSchedule (p, nextP, alpha, k, queue; advance(step, S_p, S_nextP))
//   lpSparsity(features, batchSize, dSae, p, nextP, fn, gradScale, grad) → { value, nextValue }
//   PAnnealInput, PAnnealConfigFields, resolvePAnnealFields(input, context, trainer, scaled)   spec §2.2 resolution
//   pAnnealLogState(schedule), savePAnnealState(schedule), restorePAnnealState(schedule, checkpoint)   trainer plumbing
//
// Order within step s (spec §2.2): the loss uses the current p and α; then advance(s, ...) records the queue entry and
// maybe updates p/next_p/α, which take effect from step s + 1.

import { REFERENCE_SCHEDULE, resolveScheduleValue } from "./schedule.js";
import { checkpointValue, TrainerConfigError, TrainerStateError, type JsonValue, type TrainerCheckpoint, type TrainerContext } from "./trainers/trainer.js";

export const SPARSITY_FUNCTIONS = ["Lp^p", "Lp"] as const;
export type SparsityFunction = (typeof SPARSITY_FUNCTIONS)[number];

/** spec §2.2 U[k], truncated toward zero (torch.linspace(..., dtype=int)); exact integer arithmetic. */
export function annealUpdateSteps(annealStart: number, annealEnd: number, n: number): number[] {
  if (n === 1) return [annealStart];
  const span = annealEnd - annealStart;
  return Array.from({ length: n }, (_, k) => annealStart + Math.trunc((k * span) / (n - 1)));
}

/** spec §2.2 P[k]; P[n−1] is exactly pEnd (as torch.linspace's endpoint; the formula can miss it by an ulp). */
export function annealPValues(pStart: number, pEnd: number, n: number): number[] {
  if (n === 1) return [pStart];
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? pEnd : pStart + (k * (pEnd - pStart)) / (n - 1)));
}

export interface PAnnealOptions {
  pStart: number;
  pEnd: number;
  annealStart: number;
  annealEnd: number;
  /** n updates (already resolved from "continuous"). */
  nUpdates: number;
  queueLength: number;
  /** Initial α. */
  alpha: number;
}

export interface PAnnealState {
  p: number;
  nextP: number | null;
  alpha: number;
  /** Updates done. */
  k: number;
  /** (S_p, S_next_p) of the last queueLength batches since next_p was armed. */
  queue: [number, number][];
}

export class PAnnealSchedule {
  readonly updateSteps: number[];
  readonly pValues: number[];
  private readonly updateStepSet: Set<number>;
  p: number;
  nextP: number | null = null;
  alpha: number;
  k = 0;
  queue: [number, number][] = [];

  constructor(readonly options: PAnnealOptions) {
    this.updateSteps = annealUpdateSteps(options.annealStart, options.annealEnd, options.nUpdates);
    this.pValues = annealPValues(options.pStart, options.pEnd, options.nUpdates);
    this.updateStepSet = new Set(this.updateSteps);
    this.p = options.pStart;
    this.alpha = options.alpha;
  }

  /**
   * spec §2.2 steps 2–3 after step s's loss: queue (S_p, S_next_p) while next_p is armed; at an update step, α ←
   * α·mean(S_p)/mean(S_next_p) (only once next_p is armed: the first update just arms it), p ← P[k], next_p ←
   * P[k+1] (p_end after the last), k ← k + 1. An update fires when s ∈ U and s ≥ U[k] (the reference's rule; the
   * same as s = U[k] when U has no repeats). Returns whether an update fired.
   */
  advance(step: number, sp: number, spNext: number | null): boolean {
    const { nUpdates, queueLength, pEnd } = this.options;
    if (this.nextP !== null) {
      if (spNext === null) throw new RangeError(`p-anneal step ${step}: S_next_p is needed while next_p = ${this.nextP} is armed`);
      this.queue.push([sp, spNext]);
      if (this.queue.length > queueLength) this.queue.splice(0, this.queue.length - queueLength);
    }
    if (this.k >= nUpdates || !this.updateStepSet.has(step) || step < this.updateSteps[this.k]) return false;
    if (this.nextP !== null) {
      let current = 0;
      let next = 0;
      for (const [value, nextValue] of this.queue) {
        current += value;
        next += nextValue;
      }
      this.alpha *= current / this.queue.length / (next / this.queue.length);
    }
    this.p = this.pValues[this.k];
    this.nextP = this.k < nUpdates - 1 ? this.pValues[this.k + 1] : pEnd;
    this.k++;
    return true;
  }

  state(): PAnnealState {
    return { p: this.p, nextP: this.nextP, alpha: this.alpha, k: this.k, queue: this.queue.map(([a, b]) => [a, b]) };
  }

  restore(state: PAnnealState): void {
    this.p = state.p;
    this.nextP = state.nextP;
    this.alpha = state.alpha;
    this.k = state.k;
    this.queue = state.queue.map(([a, b]) => [a, b]);
  }
}

/** f^p for f > 0, exact at p = 1 (as torch.pow). */
function power(f: number, logF: number, p: number): number {
  return p === 1 ? f : Math.exp(p * logF);
}

/**
 * The sparsity penalty of features f [batchSize, dSae] (f ≥ 0) at p and at nextP (null: not computed), and
 * grad ← gradScale·∂penalty_p/∂f, written for every entry: only where f > 0 (select, never 0·∞; spec §2.2),
 * 0 elsewhere. Lp^p: ∂/∂f = p·f^{p−1}/B. Lp: ∂/∂f_{b,i} = (Σ_j f_{b,j}^p)^{1/p−1}·f_{b,i}^{p−1}/B.
 */
export function lpSparsity(
  features: Float32Array,
  batchSize: number,
  dSae: number,
  p: number,
  nextP: number | null,
  fn: SparsityFunction,
  gradScale: number,
  grad: Float32Array,
): { value: number; nextValue: number | null } {
  const perRow = gradScale / batchSize;
  const lpp = fn === "Lp^p";
  const needLog = p !== 1 || (nextP !== null && nextP !== 1);
  let value = 0;
  let nextValue = 0;
  for (let b = 0; b < batchSize; b++) {
    const o = b * dSae;
    let rowSum = 0;
    let nextRowSum = 0;
    for (let i = o; i < o + dSae; i++) {
      const f = features[i];
      if (f > 0) {
        const logF = needLog ? Math.log(f) : 0;
        const fp = power(f, logF, p);
        rowSum += fp;
        if (nextP !== null) nextRowSum += power(f, logF, nextP);
        const slope = p === 1 ? 1 : (p * fp) / f; // p·f^{p−1}
        grad[i] = lpp ? perRow * slope : slope; // Lp: scaled by the row factor below
      } else {
        grad[i] = 0;
      }
    }
    if (lpp) {
      value += rowSum;
      if (nextP !== null) nextValue += nextRowSum;
      continue;
    }
    value += rowSum ** (1 / p);
    if (nextP !== null) nextValue += nextRowSum ** (1 / nextP);
    // ∂(Σ_j f_j^p)^{1/p}/∂f_i = (1/p)(Σ_j f_j^p)^{1/p−1}·p·f_i^{p−1}; a row of zeros has no gradient
    const rowScale = rowSum > 0 ? (perRow * rowSum ** (1 / p - 1)) / p : 0;
    for (let i = o; i < o + dSae; i++) if (grad[i] !== 0) grad[i] *= rowScale;
  }
  return { value: value / batchSize, nextValue: nextP === null ? null : nextValue / batchSize };
}

/** The p-annealing fields of a trainer's parsed input (p_anneal, gated_anneal). */
export interface PAnnealInput {
  alpha: number;
  pStart: number;
  pEnd: number;
  annealStart?: number | undefined;
  annealEnd?: number | undefined;
  nUpdates: number | "continuous";
  queueLength: number;
  sparsityFunction: SparsityFunction;
}

/** The resolved p-annealing fields of a trainer config. */
export interface PAnnealConfigFields extends PAnnealOptions {
  nUpdatesSetting: number | "continuous";
  sparsityFunction: SparsityFunction;
}

/**
 * spec §2.2 resolution: anneal_start scaled for short runs (its name pushed onto `scaled`), anneal_end = S by default,
 * "continuous" n = annealEnd − annealStart + 1.
 */
export function resolvePAnnealFields(input: PAnnealInput, context: TrainerContext, trainer: string, scaled: string[]): PAnnealConfigFields {
  const annealStart = resolveScheduleValue(input.annealStart, REFERENCE_SCHEDULE.annealStart, context.totalSteps);
  if (annealStart.scaled) scaled.push("annealStart");
  const annealEnd = input.annealEnd ?? context.totalSteps;
  if (annealEnd < annealStart.value) throw new TrainerConfigError(`${trainer}: annealEnd = ${annealEnd} comes before annealStart = ${annealStart.value}`);
  return {
    alpha: input.alpha,
    pStart: input.pStart,
    pEnd: input.pEnd,
    annealStart: annealStart.value,
    annealEnd,
    nUpdates: input.nUpdates === "continuous" ? annealEnd - annealStart.value + 1 : input.nUpdates,
    nUpdatesSetting: input.nUpdates,
    queueLength: input.queueLength,
    sparsityFunction: input.sparsityFunction,
  };
}

/** The values the next step will use, for logs and training.json. */
export function pAnnealLogState(schedule: PAnnealSchedule): Record<string, number | null> {
  const { p, nextP, alpha, k } = schedule;
  return { p, next_p: nextP, alpha, k };
}

/** The schedule's checkpoint entry (values.pAnneal). */
export function savePAnnealState(schedule: PAnnealSchedule): { [key: string]: JsonValue } {
  const { p, nextP, alpha, k, queue } = schedule.state();
  return { pAnneal: { p, nextP, alpha, k, queue } };
}

/** Restores the schedule from a checkpoint's values.pAnneal, or throws TrainerStateError naming it. */
export function restorePAnnealState(schedule: PAnnealSchedule, checkpoint: TrainerCheckpoint): void {
  const isNumber = (value: JsonValue | undefined): value is number => typeof value === "number";
  const saved = checkpointValue(checkpoint, "pAnneal", (value): value is { [key: string]: JsonValue } =>
    typeof value === "object" && value !== null && !Array.isArray(value));
  const { p, nextP, alpha, k, queue } = saved;
  const validQueue = Array.isArray(queue) && queue.every((entry) => Array.isArray(entry) && entry.length === 2 && entry.every(isNumber));
  if (!isNumber(p) || !(nextP === null || isNumber(nextP)) || !isNumber(alpha) || !isNumber(k) || !validQueue) {
    throw new TrainerStateError(`checkpoint value pAnneal is ${JSON.stringify(saved)}, expected { p, nextP, alpha, k, queue }`);
  }
  schedule.restore({ p, nextP, alpha, k, queue: queue as PAnnealState["queue"] });
}
