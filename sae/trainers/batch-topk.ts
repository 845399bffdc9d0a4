// BatchTopK trainer (spec sae.md §2.6; dictionary_learning BatchTopKTrainer; Bussmann et al. 2024): as TopK, but f
// keeps the k·B largest entries of the whole B × d_sae matrix of ReLU pre-activations (ties → lower flat index), a
// feature fires when it has a positive selected value, and θ's sample is the batch's smallest positive selected
// value. Inference uses the threshold: saved as a SAELens `jumprelu` SAE (spec §4) with threshold = θ repeated and
// apply_b_dec_to_input true. Compare topk.ts.
//
// Interface:
//   batchTopKConfigSchema                 zod: { trainer: "batch_topk", ...the TopK fields (topk-trainer.ts) }
//   BatchTopKConfigInput
//   BatchTopKTrainer(input, context)      implements Trainer; sae() is the jumprelu form, its threshold following θ

import { z } from "zod";
import { createSae, type Sae } from "../params.js";
import { resolveTopKFamilyConfig, TopKFamilyTrainer, topKFamilyFields } from "./topk-trainer.js";
import type { TrainerContext } from "./trainer.js";

export const batchTopKConfigSchema = z.strictObject({
  trainer: z.literal("batch_topk"),
  ...topKFamilyFields,
});
export type BatchTopKConfigInput = z.infer<typeof batchTopKConfigSchema>;

export class BatchTopKTrainer extends TopKFamilyTrainer {
  /** [dSae] the jumprelu threshold: θ repeated (spec §4). */
  private readonly inferenceThreshold: Float32Array;
  private readonly inference: Sae;

  constructor(input: BatchTopKConfigInput, context: TrainerContext) {
    super(resolveTopKFamilyConfig(input, context, "batch_topk"), context.kernels, "batch");
    const { dIn, dSae } = this.config;
    this.inferenceThreshold = new Float32Array(dSae);
    this.thresholdChanged();
    const trainer = this;
    this.inference = createSae(
      context.kernels,
      {
        architecture: "jumprelu",
        dIn,
        dSae,
        applyBDecToInput: true,
        get k() {
          return trainer.kAt(trainer.stepsDone);
        },
      },
      { ...this.params, threshold: this.inferenceThreshold },
    );
  }

  /** The jumprelu encode is ReLU(z) ⊙ 1[z > θ] (sae/params.ts): the reference's a ⊙ 1[a > θ], also while θ is still −1. */
  protected override thresholdChanged(): void {
    this.inferenceThreshold.fill(this.threshold);
  }

  /** spec §2.6 inference: f = z ⊙ 1[z > θ], z = (x − b_dec)W_enc + b_enc; spec.k is metadata (cfg `k`). */
  sae(): Sae {
    return this.inference;
  }
}
