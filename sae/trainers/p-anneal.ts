// p-annealing trainer (spec sae.md §2.2; Karvonen et al. 2024; dictionary_learning PAnnealTrainer): the standard
// ReLU SAE with L = R + α·σ(s)·S_p(f), p annealed 1 → 0.2 and α rescaled to keep α·S_p continuous. Compare
// standard.ts: only the sparsity term and its schedule (sae/anneal.ts) differ.
//
// Interface:
//   pAnnealConfigSchema                   zod: { trainer: "p_anneal", alpha (initial α, default 0.1), pStart (1),
//                                         pEnd (0.2), annealStart (10,000 scaled), annealEnd (S), nUpdates (10 |
//                                         "continuous"), queueLength (10), sparsityFunction ("Lp^p"), ...reluTrainerFields }
//   PAnnealConfigInput, PAnnealConfig     parsed input / resolved config
//   PAnnealTrainer(input, context)        implements Trainer; `schedule` exposes p, next_p, α, k, queue

import { z } from "zod";
import {
  lpSparsity,
  pAnnealLogState,
  PAnnealSchedule,
  resolvePAnnealFields,
  restorePAnnealState,
  savePAnnealState,
  SPARSITY_FUNCTIONS,
  type PAnnealConfigFields,
} from "../anneal.js";
import { reluTrainerFields, resolveReluTrainerConfig, ReluSaeTrainer, type ReluTrainerConfig, type SparsityStep } from "./relu-trainer.js";
import type { TrainerCheckpoint, TrainerContext } from "./trainer.js";

export const pAnnealConfigSchema = z.strictObject({
  trainer: z.literal("p_anneal"),
  ...reluTrainerFields,
  /** Initial α (dictionary_learning initial_sparsity_penalty, default 0.1). */
  alpha: z.number().nonnegative().default(0.1),
  pStart: z.number().positive().default(1),
  pEnd: z.number().positive().default(0.2),
  /** First p update step (reference 10,000, scaled for short runs). */
  annealStart: z.number().int().nonnegative().optional(),
  /** Last p update step U[n−1]; default S, so that update never fires (spec §2.2 off-by-one). */
  annealEnd: z.number().int().nonnegative().optional(),
  /** n updates, or "continuous" = annealEnd − annealStart + 1. */
  nUpdates: z.union([z.number().int().positive(), z.literal("continuous")]).default(10),
  queueLength: z.number().int().positive().default(10),
  sparsityFunction: z.enum(SPARSITY_FUNCTIONS).default("Lp^p"),
});
export type PAnnealConfigInput = z.infer<typeof pAnnealConfigSchema>;

export interface PAnnealConfig extends ReluTrainerConfig, PAnnealConfigFields {}

function resolvePAnnealConfig(input: PAnnealConfigInput, context: TrainerContext): PAnnealConfig {
  const base = resolveReluTrainerConfig(input, context, "p_anneal");
  return { ...base, ...resolvePAnnealFields(input, context, "p_anneal", base.shortRun.scaled) };
}

export class PAnnealTrainer extends ReluSaeTrainer<PAnnealConfig> {
  readonly schedule: PAnnealSchedule;

  constructor(input: PAnnealConfigInput, context: TrainerContext) {
    const config = resolvePAnnealConfig(input, context);
    super(config, context.kernels);
    this.schedule = new PAnnealSchedule(config);
  }

  /** spec §2.2: α·σ(s)·S_p(f) with this step's p and α; then the schedule advances (effective from step s + 1). */
  protected sparsityStep(step: number, scale: number, batchSize: number): SparsityStep {
    const { schedule, pass, config } = this;
    const { p, nextP, alpha } = schedule;
    const coefficient = alpha * scale;
    const { value, nextValue } = lpSparsity(pass.features, batchSize, config.dSae, p, nextP, config.sparsityFunction, coefficient, pass.featureGrad);
    schedule.advance(step, value, nextValue);
    return { loss: coefficient * value, l1PerRow: 0, featureGradFilled: true, state: { p, next_p: nextP, alpha, S_p: value } };
  }

  /** The values the next step will use. */
  trainerState(): Record<string, number | null> {
    return pAnnealLogState(this.schedule);
  }

  protected override saveExtra(): Pick<TrainerCheckpoint, "tensors" | "values"> {
    return { tensors: {}, values: savePAnnealState(this.schedule) };
  }

  protected override restoreExtra(checkpoint: TrainerCheckpoint): void {
    restorePAnnealState(this.schedule, checkpoint);
  }
}
