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
import { lpSparsity, PAnnealSchedule, type PAnnealOptions, type PAnnealState, type SparsityFunction } from "../anneal.js";
import { REFERENCE_SCHEDULE, resolveScheduleValue } from "../schedule.js";
import { GatedSaeTrainer, gatedTrainerFields, resolveGatedTrainerConfig, type GatedTrainerConfig, type GateSparsityStep } from "./gated.js";
import { pAnnealConfigSchema } from "./p-anneal.js";
import { checkpointValue, TrainerConfigError, TrainerStateError, type JsonValue, type TrainerCheckpoint, type TrainerContext } from "./trainer.js";

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

export interface GatedAnnealConfig extends GatedTrainerConfig, PAnnealOptions {
  nUpdatesSetting: number | "continuous";
  sparsityFunction: SparsityFunction;
}

/** spec §2.2 resolution, as p_anneal: anneal_start scaled for short runs, anneal_end = S, "continuous" n. */
function resolveGatedAnnealConfig(input: GatedAnnealConfigInput, context: TrainerContext): GatedAnnealConfig {
  const base = resolveGatedTrainerConfig(input, context, "gated_anneal", 3e-4);
  const start = resolveScheduleValue(input.annealStart, REFERENCE_SCHEDULE.annealStart, context.totalSteps);
  if (start.scaled) base.shortRun.scaled.push("annealStart");
  const end = input.annealEnd ?? context.totalSteps;
  if (end < start.value) throw new TrainerConfigError(`gated_anneal: annealEnd = ${end} comes before annealStart = ${start.value}`);
  return {
    ...base,
    alpha: input.alpha,
    pStart: input.pStart,
    pEnd: input.pEnd,
    annealStart: start.value,
    annealEnd: end,
    nUpdates: input.nUpdates === "continuous" ? end - start.value + 1 : input.nUpdates,
    nUpdatesSetting: input.nUpdates,
    queueLength: input.queueLength,
    sparsityFunction: input.sparsityFunction,
  };
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
    const { p, nextP, alpha, k } = this.schedule;
    return { p, next_p: nextP, alpha, k };
  }

  protected override saveExtra(): Pick<TrainerCheckpoint, "tensors" | "values"> {
    const { p, nextP, alpha, k, queue } = this.schedule.state();
    return { tensors: {}, values: { pAnneal: { p, nextP, alpha, k, queue } } };
  }

  protected override restoreExtra(checkpoint: TrainerCheckpoint): void {
    const isNumber = (value: JsonValue | undefined): value is number => typeof value === "number";
    const saved = checkpointValue(checkpoint, "pAnneal", (value): value is { [key: string]: JsonValue } =>
      typeof value === "object" && value !== null && !Array.isArray(value));
    const { p, nextP, alpha, k, queue } = saved;
    const validQueue = Array.isArray(queue) && queue.every((entry) => Array.isArray(entry) && entry.length === 2 && entry.every(isNumber));
    if (!isNumber(p) || !(nextP === null || isNumber(nextP)) || !isNumber(alpha) || !isNumber(k) || !validQueue) {
      throw new TrainerStateError(`checkpoint value pAnneal is ${JSON.stringify(saved)}, expected { p, nextP, alpha, k, queue }`);
    }
    this.schedule.restore({ p, nextP, alpha, k, queue: queue as PAnnealState["queue"] });
  }
}
