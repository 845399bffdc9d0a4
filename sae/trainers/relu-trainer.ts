// The training loop shared by the ReLU-SAE trainers (standard, p_anneal): one step = forward, reconstruction term,
// the trainer's sparsity term, backward, ConstrainedAdam at lr·λ(s) (spec sae.md §1.2, §1.3), then dead-neuron
// resampling when due (spec §2.8). A subclass supplies only its sparsity term and the state that term keeps.
// Forward and backward take the sparse-kernel path (spec §7, sparse-relu-sae.ts) on the steps whose f is sparse
// enough; the step log records which path ran.
//
// Interface:
//   reluTrainerFields                     zod fields: baseTrainerFields + recon, init, resampleSteps, resamplePoolBatches,
//                                         kernelPath ("auto" | "dense" | "sparse", spec §7), sparseDensityThreshold
//   ReluTrainerInput, ReluTrainerConfig   parsed input / resolved config
//   resolveReluTrainerConfig(input, context, trainer)
//   SparsityStep                          what sparsityStep returns: loss term, how its gradient enters, log numbers
//   ReluSaeTrainer<C>                     abstract; implement sparsityStep(step, scale, batchSize), trainerState(),
//                                         and optionally saveExtra()/restoreExtra() for checkpointed trainer state

import type { Kernels } from "../../compute/kernels.js";
import { z } from "zod";
import { ConstrainedAdam, UNIT_NORM_DECODER, type TensorMap } from "../optim.js";
import { createSae, type Sae } from "../params.js";
import { SaeRandom } from "../random.js";
import { DeadFeatureTracker, isResampleStep, ResamplePool, resampleDeadFeatures } from "../resample.js";
import { lrFactor, sparsityFactor, type LrSchedule } from "../schedule.js";
import { baseTrainerFields, resolveBaseConfig, type ResolvedBaseConfig } from "./base-config.js";
import {
  INIT_KINDS,
  initReluSae,
  RECON_KINDS,
  RELU_SAE_PARAM_NAMES,
  zeroReluSaeParams,
  type InitKind,
  type ReconKind,
  type ReluSaeParams,
  type SparsityGradient,
} from "./relu-sae.js";
import { KERNEL_PATHS, SPARSE_BREAK_EVEN, SparseReluSaePass, type KernelPath } from "./sparse-relu-sae.js";
import { checkCheckpointHeader, lastBatchStats, restoreRandom, restoreTrained, saveRandom, saveTrained } from "./trainer-state.js";
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

export const reluTrainerFields = {
  ...baseTrainerFields,
  /** Reconstruction term (spec §0): "l2sq" default, "l2" under the paper-era preset. */
  recon: z.enum(RECON_KINDS).optional(),
  /** spec §2.1: "tied" default, "paper" under the paper-era preset. */
  init: z.enum(INIT_KINDS).optional(),
  /** Resample dead neurons every R steps (spec §2.8); null = off (default, and in the paper). */
  resampleSteps: z.number().int().positive().nullable().default(null),
  /** Batches the resampled inputs are drawn from: the current one and those before it. */
  resamplePoolBatches: z.number().int().positive().default(1),
  /** spec §7: "auto" takes the sparse-kernel path on steps whose active fraction is at most sparseDensityThreshold. */
  kernelPath: z.enum(KERNEL_PATHS).default("auto"),
  /**
   * nnz/(B·d_sae) at or below which "auto" goes sparse; null (default): the compute provider's measured break-even
   * (SPARSE_BREAK_EVEN), left unresolved so that the config, and resuming it, do not depend on the provider.
   */
  sparseDensityThreshold: z.number().min(0).max(1).nullable().default(null),
};

const reluTrainerSchema = z.strictObject(reluTrainerFields);
export type ReluTrainerInput = z.infer<typeof reluTrainerSchema>;

export interface ReluTrainerConfig extends ResolvedBaseConfig {
  recon: ReconKind;
  init: InitKind;
  resampleSteps: number | null;
  resamplePoolBatches: number;
  kernelPath: KernelPath;
  sparseDensityThreshold: number | null;
}

/** spec §2 table: standard and p_anneal use Adam (0.9, 0.999), library lr 1e-3, ConstrainedAdam. */
export function resolveReluTrainerConfig(input: ReluTrainerInput, context: TrainerContext, trainer: string): ReluTrainerConfig {
  const base = resolveBaseConfig(input, context, trainer, {
    architecture: "standard",
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    constraint: UNIT_NORM_DECODER(context.dIn),
    hasSparsityTerm: true,
    resampleSteps: input.resampleSteps,
  });
  const paperEra = input.preset === "paper-era";
  return {
    ...base,
    recon: input.recon ?? (paperEra ? "l2" : "l2sq"),
    init: input.init ?? (paperEra ? "paper" : "tied"),
    resampleSteps: input.resampleSteps,
    resamplePoolBatches: input.resamplePoolBatches,
    kernelPath: input.kernelPath,
    sparseDensityThreshold: input.sparseDensityThreshold,
  };
}

/** One step's sparsity term, computed from pass.features after the forward pass. */
export interface SparsityStep extends SparsityGradient {
  /** The term as it enters the loss: coefficient·σ(s)·penalty. */
  loss: number;
  /** Numbers for the step log (penalty, p, α, ...). */
  state: Record<string, number | null>;
}

export abstract class ReluSaeTrainer<C extends ReluTrainerConfig> implements Trainer {
  readonly params: ReluSaeParams;
  stepsDone = 0;
  protected readonly pass: SparseReluSaePass;
  protected readonly grads: ReluSaeParams;
  protected readonly optimizer: ConstrainedAdam;
  protected random: SaeRandom;
  private readonly lrSchedule: LrSchedule;
  private readonly deadFeatures: DeadFeatureTracker | null;
  private readonly resamplePool: ResamplePool | null;
  private readonly inference: Sae;
  /** Features resampled at the last resample step (for logs). */
  lastResampled: number[] = [];

  constructor(
    readonly config: C,
    protected readonly kernels: Kernels,
  ) {
    const shape = { dIn: config.dIn, dSae: config.dSae };
    this.random = new SaeRandom(config.seed);
    this.params = initReluSae(shape, config.init, this.random);
    this.grads = zeroReluSaeParams(shape);
    const densityThreshold = config.sparseDensityThreshold ?? SPARSE_BREAK_EVEN[kernels.name];
    this.pass = new SparseReluSaePass(kernels, shape, { kernelPath: config.kernelPath, densityThreshold });
    const { beta1, beta2, eps } = config.adam;
    this.optimizer = new ConstrainedAdam(kernels, this.params as unknown as TensorMap, { beta1, beta2, eps, constraint: UNIT_NORM_DECODER(config.dIn) });
    this.lrSchedule = { warmupSteps: config.lrWarmupSteps, decayStart: config.lrDecayStart, totalSteps: config.totalSteps, resampleSteps: config.resampleSteps };
    this.deadFeatures = config.resampleSteps === null ? null : new DeadFeatureTracker(config.dSae);
    this.resamplePool = config.resampleSteps === null ? null : new ResamplePool(config.resamplePoolBatches, config.dIn);
    this.inference = createSae(kernels, { architecture: "standard", dIn: config.dIn, dSae: config.dSae, applyBDecToInput: true }, this.params);
  }

  /** The sparsity term of 0-based step `step` at warm-up factor `scale`, from this.pass.features. */
  protected abstract sparsityStep(step: number, scale: number, batchSize: number): SparsityStep;
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
    const { reconstruction, mse } = pass.reconstructionLoss(batch, config.recon);
    const sparsity = this.sparsityStep(step, sparsityScale, batchSize);
    pass.backward(params, this.grads, sparsity);
    this.deadFeatures?.observe(pass.features, batchSize);
    this.resamplePool?.push(batch);
    this.optimizer.step(this.grads as unknown as TensorMap, lr);
    this.lastResampled = [];
    if (config.resampleSteps !== null && isResampleStep(step, config.resampleSteps)) {
      this.lastResampled = resampleDeadFeatures({
        params,
        optimizer: this.optimizer,
        dead: this.deadFeatures!.dead(config.resampleSteps),
        pool: this.resamplePool!.rows(),
        sae: this.inference,
        random: this.random,
      });
    }
    this.stepsDone++;
    const loss = reconstruction + sparsity.loss;
    return { step, lr, sparsityScale, loss, reconstruction, mse, sparsity: sparsity.loss, kernelPath: pass.path, state: sparsity.state };
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
    saveTrained(tensors, RELU_SAE_PARAM_NAMES, this.params as unknown as TensorMap, adam);
    if (this.deadFeatures) tensors.stepsSinceActive = this.deadFeatures.stepsSinceActive.slice();
    const pooled = this.resamplePool?.held() ?? [];
    pooled.forEach((batch, i) => (tensors[`resamplePool.${i}`] = batch));
    const extra = this.saveExtra();
    const values: { [key: string]: JsonValue } = {
      trainer: this.config.trainer,
      adamSteps: adam.t,
      random: saveRandom(this.random),
      resamplePoolBatches: pooled.length,
      ...extra.values,
    };
    return { step: this.stepsDone, tensors: { ...tensors, ...extra.tensors }, values };
  }

  restore(checkpoint: TrainerCheckpoint): void {
    const { config } = this;
    checkCheckpointHeader(checkpoint, config.trainer);
    restoreTrained(checkpoint, RELU_SAE_PARAM_NAMES, this.params as unknown as TensorMap, this.optimizer);
    if (this.deadFeatures) this.deadFeatures.stepsSinceActive.set(checkpointTensor(checkpoint, "stepsSinceActive", Int32Array, config.dSae));
    if (this.resamplePool) {
      const count = checkpointValue(checkpoint, "resamplePoolBatches", (value): value is number => typeof value === "number");
      const batches: Float32Array[] = [];
      for (let i = 0; i < count; i++) {
        const batch = checkpoint.tensors[`resamplePool.${i}`];
        if (!(batch instanceof Float32Array) || batch.length % config.dIn !== 0) throw new TrainerStateError(`checkpoint tensor resamplePool.${i} is missing or not rows of ${config.dIn}`);
        batches.push(batch);
      }
      this.resamplePool.restore(batches);
    }
    this.random = restoreRandom(checkpoint, config.seed);
    this.restoreExtra(checkpoint);
    this.stepsDone = checkpoint.step;
  }
}
