// Gated SAE trainer (spec sae.md §2.3; Rajamanoharan et al. 2024; dictionary_learning GatedSAETrainer):
// L = mean_b ‖x − x̂‖² + λ·σ(s)·mean_b Σ_i ReLU(π_gate)_i + mean_b ‖x − x̂_gate‖², ConstrainedAdam (0, 0.999), no
// resampling. The training loop here is shared with gated_anneal (gated-anneal.ts), which swaps only the sparsity
// term and its schedule — as standard.ts and p-anneal.ts share relu-trainer.ts.
//
// Interface:
//   gatedTrainerFields                     zod fields: baseTrainerFields + init ("tied" | "paper")
//   GatedTrainerConfig, resolveGatedTrainerConfig(input, context, trainer, lr)
//   GateSparsityStep                       what sparsityStep returns: loss term, how its gradient enters, log numbers
//   GatedSaeTrainer<C>                     abstract; implement sparsityStep(step, scale, batchSize), trainerState(),
//                                          and optionally saveExtra()/restoreExtra()
//   gatedConfigSchema                      zod: { trainer: "gated", lambda (λ, default 0.1), ...gatedTrainerFields }
//   GatedConfigInput, GatedConfig, GatedTrainer(input, context)

import type { Kernels } from "../../compute/kernels.js";
import { z } from "zod";
import { ConstrainedAdam, UNIT_NORM_DECODER, type TensorMap } from "../optim.js";
import { createSae, type Sae } from "../params.js";
import { SaeRandom } from "../random.js";
import { lrFactor, sparsityFactor, type LrSchedule } from "../schedule.js";
import { baseTrainerFields, resolveBaseConfig, type ResolvedBaseConfig } from "./base-config.js";
import { GATED_SAE_PARAM_NAMES, GatedSaePass, initGatedSae, zeroGatedSaeParams, type GatedSaeParams, type GateSparsityGradient } from "./gated-sae.js";
import { INIT_KINDS, type InitKind } from "./relu-sae.js";
import { checkCheckpointHeader, lastBatchStats, readTrained, restoreRandom, saveRandom, saveTrained } from "./trainer-state.js";
import type { BatchStats, JsonValue, StepLog, Trainer, TrainerCheckpoint, TrainerContext } from "./trainer.js";

export const gatedTrainerFields = {
  ...baseTrainerFields,
  /** spec §2.3: "tied" (W_enc = W_decᵀ) default, "paper" (W_enc ~ U(±1/√d_in)) under the paper-era preset. */
  init: z.enum(INIT_KINDS).optional(),
};

const gatedTrainerSchema = z.strictObject(gatedTrainerFields);
export type GatedTrainerInput = z.infer<typeof gatedTrainerSchema>;

export interface GatedTrainerConfig extends ResolvedBaseConfig {
  /** spec §2.3: R and A are squared in both eras (recorded for training.json, spec §6 item 1). */
  recon: "l2sq";
  init: InitKind;
}

/** spec §2 table: Adam (0, 0.999), ConstrainedAdam; `lr` is the trainer's library default (gated 5e-5, gated_anneal 3e-4). */
export function resolveGatedTrainerConfig(input: GatedTrainerInput, context: TrainerContext, trainer: string, lr: number): GatedTrainerConfig {
  const base = resolveBaseConfig(input, context, trainer, {
    architecture: "gated",
    lr,
    beta1: 0,
    beta2: 0.999,
    constraint: UNIT_NORM_DECODER(context.dIn),
    hasSparsityTerm: true,
    resampleSteps: null,
  });
  return { ...base, recon: "l2sq", init: input.init ?? (input.preset === "paper-era" ? "paper" : "tied") };
}

/** One step's sparsity term on ReLU(π_gate), computed from pass.gate after the forward pass. */
export interface GateSparsityStep extends GateSparsityGradient {
  /** The term as it enters the loss: coefficient·σ(s)·penalty. */
  loss: number;
  /** Numbers for the step log (penalty, p, α, ...). */
  state: Record<string, number | null>;
}

export abstract class GatedSaeTrainer<C extends GatedTrainerConfig> implements Trainer {
  readonly params: GatedSaeParams;
  stepsDone = 0;
  protected readonly pass: GatedSaePass;
  protected readonly grads: GatedSaeParams;
  protected readonly optimizer: ConstrainedAdam;
  protected random: SaeRandom;
  private readonly lrSchedule: LrSchedule;
  private readonly inference: Sae;

  constructor(
    readonly config: C,
    protected readonly kernels: Kernels,
  ) {
    const shape = { dIn: config.dIn, dSae: config.dSae };
    this.random = new SaeRandom(config.seed);
    this.params = initGatedSae(shape, config.init, this.random);
    this.grads = zeroGatedSaeParams(shape);
    this.pass = new GatedSaePass(kernels, shape);
    const { beta1, beta2, eps } = config.adam;
    this.optimizer = new ConstrainedAdam(kernels, this.params as unknown as TensorMap, { beta1, beta2, eps, constraint: UNIT_NORM_DECODER(config.dIn) });
    this.lrSchedule = { warmupSteps: config.lrWarmupSteps, decayStart: config.lrDecayStart, totalSteps: config.totalSteps, resampleSteps: null };
    this.inference = createSae(kernels, { architecture: "gated", dIn: config.dIn, dSae: config.dSae, applyBDecToInput: true }, this.params);
  }

  /** The sparsity term of 0-based step `step` at warm-up factor `scale`, from this.pass.gate. */
  protected abstract sparsityStep(step: number, scale: number, batchSize: number): GateSparsityStep;
  abstract trainerState(): Record<string, number | null>;
  /** Trainer-specific checkpoint entries. */
  protected saveExtra(): Pick<TrainerCheckpoint, "tensors" | "values"> {
    return { tensors: {}, values: {} };
  }
  protected restoreExtra(_checkpoint: TrainerCheckpoint): void {}

  step(batch: Float32Array, batchSize: number): StepLog {
    const { config, pass, params } = this;
    const step = this.stepsDone;
    const lr = config.lr * lrFactor(step, this.lrSchedule);
    const sparsityScale = sparsityFactor(step, config.sparsityWarmupSteps);
    pass.forward(params, batch, batchSize);
    const { reconstruction, auxiliary } = pass.losses(batch);
    const sparsity = this.sparsityStep(step, sparsityScale, batchSize);
    pass.backward(params, this.grads, sparsity);
    this.optimizer.step(this.grads as unknown as TensorMap, lr);
    this.stepsDone++;
    return {
      step,
      lr,
      sparsityScale,
      loss: reconstruction + sparsity.loss + auxiliary,
      reconstruction,
      mse: reconstruction,
      sparsity: sparsity.loss,
      state: { ...sparsity.state, auxiliary },
    };
  }

  batchStats(batch: Float32Array): BatchStats {
    return lastBatchStats(this.config.trainer, this.pass, this.config.dIn, batch);
  }

  sae(): Sae {
    return this.inference;
  }

  state(): TrainerCheckpoint {
    const tensors: TrainerCheckpoint["tensors"] = {};
    const adam = this.optimizer.state();
    saveTrained(tensors, GATED_SAE_PARAM_NAMES, this.params as unknown as TensorMap, adam);
    const extra = this.saveExtra();
    const values: { [key: string]: JsonValue } = {
      trainer: this.config.trainer,
      adamSteps: adam.t,
      random: saveRandom(this.random),
      ...extra.values,
    };
    return { step: this.stepsDone, tensors: { ...tensors, ...extra.tensors }, values };
  }

  restore(checkpoint: TrainerCheckpoint): void {
    const { config } = this;
    checkCheckpointHeader(checkpoint, config.trainer);
    const saved = readTrained(checkpoint, GATED_SAE_PARAM_NAMES, this.params as unknown as TensorMap);
    const random = restoreRandom(checkpoint, config.seed);
    this.restoreExtra(checkpoint);
    // everything checked: now overwrite
    for (const name of GATED_SAE_PARAM_NAMES) this.params[name].set(saved.tensors[name]);
    this.optimizer.restore(saved.adam);
    this.random = random;
    this.stepsDone = checkpoint.step;
  }
}

export const gatedConfigSchema = z.strictObject({
  trainer: z.literal("gated"),
  ...gatedTrainerFields,
  /** λ, the L1 coefficient on ReLU(π_gate) (dictionary_learning l1_penalty, default 0.1). */
  lambda: z.number().nonnegative().default(0.1),
});
export type GatedConfigInput = z.infer<typeof gatedConfigSchema>;

export interface GatedConfig extends GatedTrainerConfig {
  lambda: number;
}

export class GatedTrainer extends GatedSaeTrainer<GatedConfig> {
  private readonly gateSums: Float32Array; // [dSae] Σ_b ReLU(π_gate)_{b,i}

  constructor(input: GatedConfigInput, context: TrainerContext) {
    super({ ...resolveGatedTrainerConfig(input, context, "gated", 5e-5), lambda: input.lambda }, context.kernels);
    this.gateSums = new Float32Array(input.dSae);
  }

  /** spec §2.3: λ·σ(s)·mean_b Σ_i ReLU(π_gate)_i; its gradient λ·σ(s)/B on every open gate. */
  protected sparsityStep(_step: number, scale: number, batchSize: number): GateSparsityStep {
    this.kernels.columnSums(this.pass.gate, this.gateSums);
    let total = 0;
    for (let i = 0; i < this.gateSums.length; i++) total += this.gateSums[i];
    const l1 = total / batchSize;
    const coefficient = this.config.lambda * scale;
    return { loss: coefficient * l1, l1PerRow: coefficient / batchSize, gateGradFilled: false, state: { l1 } };
  }

  trainerState(): Record<string, number | null> {
    return {};
  }
}
