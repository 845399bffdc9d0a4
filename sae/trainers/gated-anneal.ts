// Gated + p-annealing trainer (spec sae.md §2.4; dictionary_learning GatedAnnealTrainer): the gated SAE of gated.ts
// with the sparsity term α·σ(s)·S_p(ReLU(π_gate)) and exactly the p_anneal schedule and α rule (spec §2.2,
// sae/anneal.ts). Compare gated.ts: only the sparsity term and its schedule differ.
//
// Interface:
//   gatedAnnealConfigSchema                     zod: { trainer: "gated_anneal", ...gatedTrainerFields, and p_anneal's
//                                               alpha (0.1), pStart (1), pEnd (0.2), annealStart (10,000 scaled),
//                                               annealEnd (S), nUpdates (10 | "continuous"), queueLength (10),
//                                               sparsityFunction ("Lp^p") }
//   GatedAnnealConfigInput, GatedAnnealConfig   parsed input / resolved config
//   GatedAnnealTrainer(input, context)          implements Trainer; `schedule` exposes p, next_p, α, k, queue

import { z } from "zod";
import { lpSparsity, pAnnealLogState, PAnnealSchedule, resolvePAnnealFields, restorePAnnealState, savePAnnealState, type PAnnealConfigFields } from "../anneal.js";
import { GatedSaeTrainer, gatedTrainerFields, resolveGatedTrainerConfig, type GatedTrainerConfig, type GateSparsityStep } from "./gated.js";
import { pAnnealConfigSchema } from "./p-anneal.js";
import type { TrainerCheckpoint, TrainerContext } from "./trainer.js";

// p_anneal's own field definitions (defaults and documentation), so the two trainers cannot drift apart
const { alpha, pStart, pEnd, annealStart, annealEnd, nUpdates, queueLength, sparsityFunction } = pAnnealConfigSchema.shape;

export const gatedAnnealConfigSchema = z.strictObject({
  trainer: z.literal("gated_anneal"),
  ...gatedTrainerFields,
  alpha,
  pStart,
  pEnd,
  annealStart,
  annealEnd,
  nUpdates,
  queueLength,
  sparsityFunction,
});
export type GatedAnnealConfigInput = z.infer<typeof gatedAnnealConfigSchema>;

export interface GatedAnnealConfig extends GatedTrainerConfig, PAnnealConfigFields {}

/** spec §2.2 resolution, as p_anneal: anneal_start scaled for short runs, anneal_end = S, "continuous" n. */
function resolveGatedAnnealConfig(input: GatedAnnealConfigInput, context: TrainerContext): GatedAnnealConfig {
  const base = resolveGatedTrainerConfig(input, context, "gated_anneal", 3e-4);
  return { ...base, ...resolvePAnnealFields(input, context, "gated_anneal", base.shortRun.scaled) };
}

export class GatedAnnealTrainer extends GatedSaeTrainer<GatedAnnealConfig> {
  readonly schedule: PAnnealSchedule;

  constructor(input: GatedAnnealConfigInput, context: TrainerContext) {
    const config = resolveGatedAnnealConfig(input, context);
    super(config, context.kernels);
    this.schedule = new PAnnealSchedule(config);
  }

  /** spec §2.4: α·σ(s)·S_p(ReLU(π_gate)) with this step's p and α; then the schedule advances (effective from s + 1). */
  protected sparsityStep(step: number, scale: number, batchSize: number): GateSparsityStep {
    const { schedule, pass, config } = this;
    const { p, nextP, alpha } = schedule;
    const coefficient = alpha * scale;
    const { value, nextValue } = lpSparsity(pass.gate, batchSize, config.dSae, p, nextP, config.sparsityFunction, coefficient, pass.gateGrad);
    schedule.advance(step, value, nextValue);
    return { loss: coefficient * value, l1PerRow: 0, gateGradFilled: true, state: { p, next_p: nextP, alpha, S_p: value } };
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
