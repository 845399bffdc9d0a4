// TopK trainer (spec sae.md §2.5; dictionary_learning TopKTrainer; Gao et al. 2024): f = the k largest entries of
// each token's ReLU pre-activations, L = mean_b ‖x − x̂‖² + (1/32)·AuxK. Saved as a SAELens `topk` SAE (spec §4) whose
// encode is top-k by default and a ⊙ 1[a > θ] with useThreshold. Compare batch-topk.ts: only the selection over the
// batch and the saved inference form differ; the loop is topk-trainer.ts's.
//
// Interface:
//   topKConfigSchema                      zod: { trainer: "topk", k, auxkAlpha, thresholdBeta, thresholdStart,
//                                         deadTokens, kAnnealSteps, ...baseTrainerFields }
//   TopKConfigInput
//   TopKTrainer(input, context)           implements Trainer; sae() follows k_s and θ live

import { z } from "zod";
import { createSae, type Sae, type SaeSpec } from "../params.js";
import { resolveTopKFamilyConfig, TopKFamilyTrainer, topKFamilyFields } from "./topk-trainer.js";
import type { TrainerContext } from "./trainer.js";

export const topKConfigSchema = z.strictObject({
  trainer: z.literal("topk"),
  ...topKFamilyFields,
});
export type TopKConfigInput = z.infer<typeof topKConfigSchema>;

export class TopKTrainer extends TopKFamilyTrainer {
  private readonly inference: Sae;

  constructor(input: TopKConfigInput, context: TrainerContext) {
    super(resolveTopKFamilyConfig(input, context, "topk"), context.kernels, "row");
    const trainer = this;
    const spec: SaeSpec = {
      architecture: "topk",
      dIn: this.config.dIn,
      dSae: this.config.dSae,
      applyBDecToInput: true,
      get k() {
        return trainer.kAt(trainer.stepsDone);
      },
      get topkThreshold() {
        return trainer.threshold;
      },
      useThreshold: false,
    };
    this.inference = createSae(context.kernels, spec, this.params);
  }

  /** spec §2.5 inference: top-k per token with the next step's k; θ is in spec.topkThreshold (encode with useThreshold). */
  sae(): Sae {
    return this.inference;
  }
}
