// Learning-rate and sparsity schedules and the short-run scaling of reference step counts (spec sae.md §1.3).
//
// Interface:
//   REFERENCE_STEPS, REFERENCE_SCHEDULE     the reference run's step counts (S_ref = 36,621 steps)
//   shortRunScaled(reference, S)            ⌊reference·S/S_ref⌋, min 1, when S < S_ref; else reference
//   resolveScheduleValue(explicit, reference, S) → { value, scaled } (explicit values are never scaled)
//   LrSchedule, checkLrSchedule(schedule, label), lrFactor(step, schedule)  λ(s), lr_s = lr·λ(s)
//   sparsityFactor(step, warmupSteps)       σ(s) = min(s/W_sp, 1); W_sp = 0 → 1
//   ScheduleError                           an impossible schedule, naming the field and value
//
// Steps are 0-based: step 0 runs at λ(0) = 0 when there is a warm-up (the optimiser still steps, lr 0).

/** spec §1.3: the reference step count (300M tokens at B = 8192). */
export const REFERENCE_STEPS = 36_621;

/** spec §1.3, §2: reference lengths that are scaled down for short runs. deadTokens is in tokens, not steps. */
export const REFERENCE_SCHEDULE = {
  lrWarmupSteps: 1000,
  sparsityWarmupSteps: 2000,
  annealStart: 10_000,
  thresholdStart: 1000,
  deadTokens: 10_000_000,
} as const;

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

function checkSteps(label: string, totalSteps: number): void {
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new ScheduleError(`${label}: total steps = ${totalSteps}, expected a positive integer`);
}

/** spec §1.3: a reference length for a run of `totalSteps` steps: ×S/S_ref floored, at least 1, when S < S_ref. */
export function shortRunScaled(reference: number, totalSteps: number): number {
  checkSteps("shortRunScaled", totalSteps);
  if (totalSteps >= REFERENCE_STEPS) return reference;
  return Math.max(1, Math.floor((reference * totalSteps) / REFERENCE_STEPS));
}

/** An explicitly set value as given; otherwise the reference value, scaled for short runs. */
export function resolveScheduleValue(explicit: number | undefined, reference: number, totalSteps: number): { value: number; scaled: boolean } {
  if (explicit !== undefined) return { value: explicit, scaled: false };
  const value = shortRunScaled(reference, totalSteps);
  return { value, scaled: value !== reference };
}

export interface LrSchedule {
  /** W_lr; 0 = no warm-up. */
  warmupSteps: number;
  /** s_decay: linear decay to 0 at S from this step on, or null. */
  decayStart: number | null;
  /** S. */
  totalSteps: number;
  /** R: the warm-up restarts every R steps (dead-neuron resampling), or null. */
  resampleSteps: number | null;
}

/** The reference's assertions (dictionary_learning get_lr_schedule), with the offending field named. */
export function checkLrSchedule(schedule: LrSchedule, label: string): void {
  const { warmupSteps, decayStart, totalSteps, resampleSteps } = schedule;
  checkSteps(label, totalSteps);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new ScheduleError(`${label}: lrWarmupSteps = ${warmupSteps}, expected an integer ≥ 0`);
  if (decayStart !== null) {
    if (resampleSteps !== null) throw new ScheduleError(`${label}: lrDecayStart = ${decayStart} and resampleSteps = ${resampleSteps} cannot both be set`);
    if (!Number.isInteger(decayStart) || decayStart <= warmupSteps || decayStart >= totalSteps) {
      throw new ScheduleError(`${label}: lrDecayStart = ${decayStart}, expected an integer in (lrWarmupSteps = ${warmupSteps}, steps = ${totalSteps})`);
    }
  }
  if (resampleSteps !== null && (!Number.isInteger(resampleSteps) || resampleSteps < 1)) {
    throw new ScheduleError(`${label}: resampleSteps = ${resampleSteps}, expected a positive integer`);
  }
}

/** spec §1.3 λ(s) for 0-based step s. */
export function lrFactor(step: number, schedule: LrSchedule): number {
  const { warmupSteps, decayStart, totalSteps, resampleSteps } = schedule;
  if (resampleSteps !== null) return warmupSteps === 0 ? 1 : Math.min((step % resampleSteps) / warmupSteps, 1);
  if (step < warmupSteps) return step / warmupSteps;
  if (decayStart !== null && step >= decayStart) return (totalSteps - step) / (totalSteps - decayStart);
  return 1;
}

/** spec §1.3 σ(s) = min(s/W_sp, 1); W_sp = 0 means σ ≡ 1. */
export function sparsityFactor(step: number, warmupSteps: number): number {
  return warmupSteps === 0 ? 1 : Math.min(step / warmupSteps, 1);
}
