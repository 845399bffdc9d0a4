// Config fields every trainer accepts and how they resolve (spec sae.md §0 presets, §1.3 schedules, §2 table).
// A field left out means "not set explicitly": it takes the preset's or trainer's default, and the reference step
// counts are scaled for short runs (spec §1.3); a value the user sets is never scaled.
//
// Interface:
//   PRESETS / Preset ("current" | "paper-era")
//   baseTrainerFields                    zod fields: dSae, seed (42), preset, lr, lrWarmupSteps, lrDecayStart,
//                                        sparsityWarmupSteps — spread into each trainer's z.strictObject
//   BaseTrainerInput                     their parsed type
//   TrainerDefaults                      what a trainer supplies: lr, Adam β, decoder constraint, sparsity warm-up
//   resolveBaseConfig(input, context, trainer, defaults) → ResolvedTrainerConfig & { sparsityWarmupSteps }

import { z } from "zod";
import type { Architecture } from "../params.js";
import type { DecoderConstraint } from "../optim.js";
import { checkLrSchedule, REFERENCE_SCHEDULE, REFERENCE_STEPS, resolveScheduleValue, ScheduleError } from "../schedule.js";
import { TrainerConfigError, type ResolvedTrainerConfig, type TrainerContext } from "./trainer.js";

export const PRESETS = ["current", "paper-era"] as const;
export type Preset = (typeof PRESETS)[number];

export const baseTrainerFields = {
  /** Dictionary size. */
  dSae: z.number().int().positive(),
  /** Seeds this trainer's PRNG (init, resampling); equal seeds and shapes start identical (spec §1.5). */
  seed: z.number().int().min(0).max(0xffffffff).default(42),
  /** "paper-era" = recon l2 (standard, p_anneal), init "paper", sparsity warm-up 0 (spec §0). */
  preset: z.enum(PRESETS).default("current"),
  lr: z.number().positive().optional(),
  /** W_lr (reference 1000, scaled for short runs). */
  lrWarmupSteps: z.number().int().nonnegative().optional(),
  /** Linear LR decay to 0 from this step on; null = none. */
  lrDecayStart: z.number().int().positive().nullable().default(null),
  /** W_sp (reference 2000, scaled for short runs; 0 = none). */
  sparsityWarmupSteps: z.number().int().nonnegative().optional(),
};

const baseTrainerSchema = z.strictObject(baseTrainerFields);
export type BaseTrainerInput = z.infer<typeof baseTrainerSchema>;

export interface TrainerDefaults {
  architecture: Architecture;
  lr: number;
  beta1: number;
  beta2: number;
  constraint: DecoderConstraint;
  /** Whether the trainer has a sparsity term to warm up (TopK has none: W_sp is then 0). */
  hasSparsityTerm: boolean;
  /** The LR restarts every R steps (resampling), or null. */
  resampleSteps: number | null;
}

export interface ResolvedBaseConfig extends ResolvedTrainerConfig {
  preset: Preset;
  sparsityWarmupSteps: number;
}

/** The resolved fields every trainer shares; `trainer` names it in errors. */
export function resolveBaseConfig(input: BaseTrainerInput, context: TrainerContext, trainer: string, defaults: TrainerDefaults): ResolvedBaseConfig {
  const { dIn, totalSteps, batchSize } = context;
  for (const [name, value] of [["dIn", dIn], ["totalSteps", totalSteps], ["batchSize", batchSize]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new TrainerConfigError(`${trainer}: ${name} = ${value}, expected a positive integer`);
  }
  const scaled: string[] = [];
  const resolve = (name: string, explicit: number | undefined, reference: number) => {
    const { value, scaled: wasScaled } = resolveScheduleValue(explicit, reference, totalSteps);
    if (wasScaled) scaled.push(name);
    return value;
  };
  const lrWarmupSteps = resolve("lrWarmupSteps", input.lrWarmupSteps, REFERENCE_SCHEDULE.lrWarmupSteps);
  let sparsityWarmupSteps = 0;
  if (defaults.hasSparsityTerm) {
    sparsityWarmupSteps =
      input.sparsityWarmupSteps ?? (input.preset === "paper-era" ? 0 : resolve("sparsityWarmupSteps", undefined, REFERENCE_SCHEDULE.sparsityWarmupSteps));
  } else if (input.sparsityWarmupSteps !== undefined && input.sparsityWarmupSteps !== 0) {
    throw new TrainerConfigError(`${trainer}: sparsityWarmupSteps = ${input.sparsityWarmupSteps}, but this trainer has no sparsity term`);
  }
  try {
    checkLrSchedule({ warmupSteps: lrWarmupSteps, decayStart: input.lrDecayStart, totalSteps, resampleSteps: defaults.resampleSteps }, trainer);
  } catch (error) {
    if (error instanceof ScheduleError) throw new TrainerConfigError(error.message);
    throw error;
  }
  if (input.lrDecayStart !== null && input.lrDecayStart <= sparsityWarmupSteps) {
    throw new TrainerConfigError(`${trainer}: lrDecayStart = ${input.lrDecayStart} must come after sparsityWarmupSteps = ${sparsityWarmupSteps}`);
  }
  const { constraint } = defaults;
  return {
    trainer,
    architecture: defaults.architecture,
    dIn,
    dSae: input.dSae,
    seed: input.seed,
    preset: input.preset,
    totalSteps,
    batchSize,
    lr: input.lr ?? defaults.lr,
    adam: { beta1: defaults.beta1, beta2: defaults.beta2, eps: 1e-8 },
    decoder: { projectionEps: constraint.projectionEps, renormEps: constraint.renormEps, clipGradNorm: constraint.clipGradNorm },
    lrWarmupSteps,
    lrDecayStart: input.lrDecayStart,
    sparsityWarmupSteps,
    shortRun: { referenceSteps: REFERENCE_STEPS, scaled },
  };
}
