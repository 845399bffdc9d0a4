// Standard SAE trainer (spec sae.md §2.1; dictionary_learning StandardTrainer): ReLU SAE,
// L = R + λ·σ(s)·mean_b Σ_i f_i, ConstrainedAdam (0.9, 0.999). Compare p-anneal.ts: only the sparsity term differs.
//
// Interface:
//   standardConfigSchema                  zod: { trainer: "standard", lambda (λ, default 0.1), ...reluTrainerFields }
//   StandardConfigInput, StandardConfig   parsed input / resolved config
//   StandardTrainer(input, context)       implements Trainer (sae/trainers/trainer.ts)

import { z } from "zod";
import { reluTrainerFields, resolveReluTrainerConfig, ReluSaeTrainer, type ReluTrainerConfig, type SparsityStep } from "./relu-trainer.js";
import type { TrainerContext } from "./trainer.js";

export const standardConfigSchema = z.strictObject({
  trainer: z.literal("standard"),
  ...reluTrainerFields,
  /** λ, the L1 coefficient (dictionary_learning l1_penalty, default 0.1). */
  lambda: z.number().nonnegative().default(0.1),
});
export type StandardConfigInput = z.infer<typeof standardConfigSchema>;

export interface StandardConfig extends ReluTrainerConfig {
  lambda: number;
}

export class StandardTrainer extends ReluSaeTrainer<StandardConfig> {
  private readonly featureSums: Float32Array; // [dSae] Σ_b f_{b,i}

  constructor(input: StandardConfigInput, context: TrainerContext) {
    super({ ...resolveReluTrainerConfig(input, context, "standard"), lambda: input.lambda }, context.kernels);
    this.featureSums = new Float32Array(input.dSae);
  }

  /** spec §2.1: λ·σ(s)·mean_b Σ_i f_i; its gradient λ·σ(s)/B on every active unit. */
  protected sparsityStep(_step: number, scale: number, batchSize: number): SparsityStep {
    this.kernels.columnSums(this.pass.features, this.featureSums);
    let total = 0;
    for (let i = 0; i < this.featureSums.length; i++) total += this.featureSums[i];
    const l1 = total / batchSize;
    const coefficient = this.config.lambda * scale;
    return { loss: coefficient * l1, l1PerRow: coefficient / batchSize, featureGradFilled: false, state: { l1 } };
  }

  trainerState(): Record<string, number | null> {
    return {};
  }
}
