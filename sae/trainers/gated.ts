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
import { batchFve, meanL0 } from "../batch-stats.js";
import { ConstrainedAdam, UNIT_NORM_DECODER, type TensorMap } from "../optim.js";
import { createSae, SaeShapeError, type Sae } from "../params.js";
import { SaeRandom, type RandomState } from "../random.js";
import { lrFactor, sparsityFactor, type LrSchedule } from "../schedule.js";
import { baseTrainerFields, resolveBaseConfig, type ResolvedBaseConfig } from "./base-config.js";
import { GATED_SAE_PARAM_NAMES, GatedSaePass, initGatedSae, zeroGatedSaeParams, type GatedSaeParams, type GateSparsityGradient } from "./gated-sae.js";
import { INIT_KINDS, type InitKind } from "./relu-sae.js";
import {
  checkpointTensor,
  checkpointValue,
  TrainerStateError,
  type BatchStats,
  type JsonValue,
  type StepLog,
  type Trainer,
  type TrainerCheckpoint,
  type TrainerContext,
} from "./trainer.js";

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
    const { pass } = this;
    if (pass.batchSize === 0) throw new SaeShapeError(`${this.config.trainer}: batchStats before any step`);
    if (batch.length !== pass.batchSize * this.config.dIn) {
      throw new SaeShapeError(`${this.config.trainer}: batchStats got ${batch.length} values, the last step's batch had ${pass.batchSize * this.config.dIn}`);
    }
    return { l0: meanL0(pass.features, pass.batchSize), fve: batchFve(batch, pass.reconstruction, pass.batchSize, this.config.dIn) };
  }

  sae(): Sae {
    return this.inference;
  }

  state(): TrainerCheckpoint {
    const tensors: TrainerCheckpoint["tensors"] = {};
    const adam = this.optimizer.state();
    for (const name of GATED_SAE_PARAM_NAMES) {
      tensors[name] = this.params[name].slice();
      tensors[`adam.m.${name}`] = adam.m[name];
      tensors[`adam.v.${name}`] = adam.v[name];
    }
    const extra = this.saveExtra();
    const random = this.random.state();
    const values: { [key: string]: JsonValue } = {
      trainer: this.config.trainer,
      adamSteps: adam.t,
      random: { seed: random.seed, draws: random.draws },
      ...extra.values,
    };
    return { step: this.stepsDone, tensors: { ...tensors, ...extra.tensors }, values };
  }

  restore(checkpoint: TrainerCheckpoint): void {
    const { config } = this;
    const trainer = checkpointValue(checkpoint, "trainer", (v): v is string => typeof v === "string");
    if (trainer !== config.trainer) throw new TrainerStateError(`checkpoint of a ${trainer} trainer cannot restore a ${config.trainer} trainer`);
    if (!Number.isInteger(checkpoint.step) || checkpoint.step < 0) throw new TrainerStateError(`checkpoint step ${checkpoint.step} is not a step count`);
    const m: TensorMap = {};
    const v: TensorMap = {};
    const saved: Partial<GatedSaeParams> = {};
    for (const name of GATED_SAE_PARAM_NAMES) {
      const length = this.params[name].length;
      saved[name] = checkpointTensor(checkpoint, name, Float32Array, length);
      m[name] = checkpointTensor(checkpoint, `adam.m.${name}`, Float32Array, length);
      v[name] = checkpointTensor(checkpoint, `adam.v.${name}`, Float32Array, length);
    }
    const adamSteps = checkpointValue(checkpoint, "adamSteps", (value): value is number => typeof value === "number");
    const random = checkpointValue(checkpoint, "random", (value): value is { seed: number; draws: number } =>
      typeof value === "object" && value !== null && !Array.isArray(value) && typeof value.seed === "number" && typeof value.draws === "number");
    if (random.seed !== config.seed) throw new TrainerStateError(`checkpoint PRNG seed ${random.seed} differs from the config's seed ${config.seed}`);
    this.restoreExtra(checkpoint);
    // everything checked: now overwrite
    for (const name of GATED_SAE_PARAM_NAMES) this.params[name].set(saved[name]!);
    this.optimizer.restore({ t: adamSteps, m, v });
    this.random = SaeRandom.restore(random satisfies RandomState);
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
