// The training loop shared by the TopK and BatchTopK trainers (spec sae.md §2.5, §2.6; dictionary_learning
// TopKTrainer / BatchTopKTrainer): one step = [step 0: b_dec ← geometric median of the batch], forward with k_s, θ
// update on s > thresholdStart, dead count, AuxK, backward, the clipped ConstrainedAdam variant (spec §1.2) at lr·λ(s).
// topk.ts and batch-topk.ts differ only in the selection mode and the saved inference form.
//
// Interface:
//   topKFamilyFields                      zod fields: baseTrainerFields + k, auxkAlpha (1/32), thresholdBeta (0.999),
//                                         thresholdStart (1000 scaled), deadTokens (10M tokens scaled), kAnnealSteps (null),
//                                         normalize ("none"), kernelPath ("auto"), sparseDensityThreshold (null):
//                                         the ReLU trainers' spec §7 fields (relu-trainer.ts), same meaning
//   TopKFamilyInput, TopKFamilyConfig, resolveTopKFamilyConfig(input, context, trainer)
//   annealedK(step, k, dIn, K)            spec §2.5 k-anneal
//   TopKFamilyTrainer(config, kernels, mode)   abstract; a subclass supplies sae() (and thresholdChanged())

import type { Kernels } from "../../compute/kernels.js";
import { z } from "zod";
import { NORMALIZATIONS, type Normalization } from "../normalize.js";
import { CLIPPED_UNIT_NORM_DECODER, ConstrainedAdam, type TensorMap } from "../optim.js";
import { SaeShapeError, type Architecture, type Sae } from "../params.js";
import { SaeRandom } from "../random.js";
import { lrFactor, REFERENCE_SCHEDULE, resolveScheduleValue, type LrSchedule } from "../schedule.js";
import { baseTrainerFields, resolveBaseConfig, type ResolvedBaseConfig } from "./base-config.js";
import { reluTrainerFields } from "./relu-trainer.js";
import { RELU_SAE_PARAM_NAMES, zeroReluSaeParams, type ReluSaeParams } from "./relu-sae.js";
import {
  batchThresholdSample,
  geometricMedian,
  initTopKSae,
  TokensSinceFired,
  tokenThresholdSample,
  TopKSaePass,
  updateThreshold,
  type AuxKResult,
  type SelectionMode,
} from "./topk-sae.js";
import { SPARSE_BREAK_EVEN, type KernelPath } from "./sparse-relu-sae.js";
import { checkCheckpointHeader, lastBatchStats, restoreRandom, restoreTrained, saveRandom, saveTrained } from "./trainer-state.js";
import {
  checkpointTensor,
  checkpointValue,
  TrainerConfigError,
  type BatchStats,
  type StepLog,
  type Trainer,
  type TrainerCheckpoint,
  type TrainerContext,
} from "./trainer.js";

export const topKFamilyFields = {
  ...baseTrainerFields,
  /** Active features per token (BatchTopK: on average over the batch). */
  k: z.number().int().positive(),
  /** AuxK coefficient (Gao et al. App. A.2); 0 turns AuxK off. */
  auxkAlpha: z.number().nonnegative().default(1 / 32),
  /** EMA factor of the inference threshold θ. */
  thresholdBeta: z.number().min(0).max(1).default(0.999),
  /** θ is updated on steps s > thresholdStart (reference 1000, scaled for short runs). */
  thresholdStart: z.number().int().nonnegative().optional(),
  /** A feature is dead after this many tokens without firing (reference 10,000,000, scaled for short runs). */
  deadTokens: z.number().int().positive().optional(),
  /** k-anneal: k_s goes linearly from d_in to k over this many steps; null = off (default). */
  kAnnealSteps: z.number().int().positive().nullable().default(null),
  /** spec §1.4: train on x/c (the sweep scales the batches and folds c, θ included, into the saved SAE). */
  normalize: z.enum(NORMALIZATIONS).default("none"),
  /** spec §7: "auto" takes the sparse-kernel path on steps whose kept fraction is at most sparseDensityThreshold. */
  kernelPath: reluTrainerFields.kernelPath,
  /** null (default): the compute provider's measured break-even (SPARSE_BREAK_EVEN), left unresolved. */
  sparseDensityThreshold: reluTrainerFields.sparseDensityThreshold,
};

const topKFamilySchema = z.strictObject(topKFamilyFields);
export type TopKFamilyInput = z.infer<typeof topKFamilySchema>;

export interface TopKFamilyConfig extends ResolvedBaseConfig {
  k: number;
  auxkAlpha: number;
  /** ⌊d_in/2⌋: k_aux = min(this, #dead) (Gao et al. App. B.1). */
  auxkMax: number;
  thresholdBeta: number;
  thresholdStart: number;
  deadTokens: number;
  kAnnealSteps: number | null;
  normalize: Normalization;
  kernelPath: KernelPath;
  sparseDensityThreshold: number | null;
  /** spec §6 item 2: the init this trainer uses. */
  init: "kaiming-uniform-tied, b_dec = geometric median of batch 0";
}

/** spec §2.5 / §2.6 and the §2 table: lr 2e-4/√(d_sae/16384), Adam (0.9, 0.999), the clipped decoder variant. */
export function resolveTopKFamilyConfig(input: TopKFamilyInput, context: TrainerContext, trainer: "topk" | "batch_topk"): TopKFamilyConfig {
  const architecture: Architecture = trainer === "topk" ? "topk" : "jumprelu";
  const base = resolveBaseConfig(input, context, trainer, {
    architecture,
    lr: 2e-4 / Math.sqrt(input.dSae / 16384),
    beta1: 0.9,
    beta2: 0.999,
    constraint: CLIPPED_UNIT_NORM_DECODER(context.dIn),
    hasSparsityTerm: false,
    resampleSteps: null,
  });
  const { k, kAnnealSteps, dSae } = input;
  if (k > dSae) throw new TrainerConfigError(`${trainer}: k = ${k} exceeds dSae = ${dSae}`);
  if (kAnnealSteps !== null) {
    if (kAnnealSteps >= context.totalSteps) throw new TrainerConfigError(`${trainer}: kAnnealSteps = ${kAnnealSteps}, expected fewer than the ${context.totalSteps} steps`);
    if (context.dIn <= k || context.dIn > dSae) throw new TrainerConfigError(`${trainer}: kAnnealSteps needs k < d_in ≤ dSae (k = ${k}, d_in = ${context.dIn}, dSae = ${dSae})`);
  }
  const resolve = (name: string, explicit: number | undefined, reference: number) => {
    const { value, scaled } = resolveScheduleValue(explicit, reference, context.totalSteps);
    if (scaled) base.shortRun.scaled.push(name);
    return value;
  };
  return {
    ...base,
    k,
    auxkAlpha: input.auxkAlpha,
    auxkMax: Math.floor(context.dIn / 2),
    thresholdBeta: input.thresholdBeta,
    thresholdStart: resolve("thresholdStart", input.thresholdStart, REFERENCE_SCHEDULE.thresholdStart),
    deadTokens: resolve("deadTokens", input.deadTokens, REFERENCE_SCHEDULE.deadTokens),
    kAnnealSteps,
    normalize: input.normalize,
    kernelPath: input.kernelPath,
    sparseDensityThreshold: input.sparseDensityThreshold,
    init: "kaiming-uniform-tied, b_dec = geometric median of batch 0",
  };
}

/** spec §2.5 k-anneal: k_s = ⌊d_in·(1 − r) + k·r⌋, r = min(s, K)/K; k without anneal. */
export function annealedK(step: number, k: number, dIn: number, kAnnealSteps: number | null): number {
  if (kAnnealSteps === null) return k;
  const r = Math.min(step, kAnnealSteps) / kAnnealSteps;
  return Math.floor(dIn * (1 - r) + k * r);
}

/** The TopK-family training loop; topk.ts and batch-topk.ts supply the selection mode and the inference form. */
export abstract class TopKFamilyTrainer implements Trainer {
  readonly params: ReluSaeParams;
  stepsDone = 0;
  /** θ, the inference threshold (−1 until the first update). */
  threshold = -1;
  readonly tokensSinceFired: TokensSinceFired;
  protected readonly pass: TopKSaePass;
  protected readonly grads: ReluSaeParams;
  protected readonly optimizer: ConstrainedAdam;
  protected random: SaeRandom;
  private readonly lrSchedule: LrSchedule;

  constructor(
    readonly config: TopKFamilyConfig,
    protected readonly kernels: Kernels,
    readonly mode: SelectionMode,
  ) {
    const shape = { dIn: config.dIn, dSae: config.dSae };
    this.random = new SaeRandom(config.seed);
    this.params = initTopKSae(shape, this.random);
    this.grads = zeroReluSaeParams(shape);
    const densityThreshold = config.sparseDensityThreshold ?? SPARSE_BREAK_EVEN[kernels.name];
    this.pass = new TopKSaePass(kernels, shape, { kernelPath: config.kernelPath, densityThreshold });
    this.tokensSinceFired = new TokensSinceFired(config.dSae);
    const { beta1, beta2, eps } = config.adam;
    this.optimizer = new ConstrainedAdam(kernels, this.params as unknown as TensorMap, { beta1, beta2, eps, constraint: CLIPPED_UNIT_NORM_DECODER(config.dIn) });
    this.lrSchedule = { warmupSteps: config.lrWarmupSteps, decayStart: config.lrDecayStart, totalSteps: config.totalSteps, resampleSteps: null };
  }

  abstract sae(): Sae;
  /** Called whenever θ may have changed (a subclass's inference form may hold a copy). */
  protected thresholdChanged(): void {}

  /** k_s of 0-based step s (spec §2.5 k-anneal). */
  kAt(step: number): number {
    return annealedK(step, this.config.k, this.config.dIn, this.config.kAnnealSteps);
  }

  step(batch: Float32Array, batchSize: number): StepLog {
    const { config, pass, params } = this;
    const step = this.stepsDone;
    if (batch.length !== batchSize * config.dIn) throw new SaeShapeError(`${config.trainer}: batch has ${batch.length} values, expected [${batchSize}, ${config.dIn}] = ${batchSize * config.dIn}`);
    if (step === 0) params.b_dec.set(geometricMedian(batch, batchSize, config.dIn));
    const lr = config.lr * lrFactor(step, this.lrSchedule);
    const k = this.kAt(step);
    pass.forward(params, batch, batchSize, k, this.mode);
    if (step > config.thresholdStart) {
      const sample = this.mode === "row" ? tokenThresholdSample(pass.features, batchSize, config.dSae) : batchThresholdSample(pass.features);
      if (sample !== null) this.threshold = updateThreshold(this.threshold, sample, config.thresholdBeta);
      this.thresholdChanged();
    }
    const mse = pass.reconstructionLoss(batch);
    this.tokensSinceFired.observe(pass.fired, batchSize);
    const deadCount = this.tokensSinceFired.dead(config.deadTokens, pass.deadFeatures);
    let auxk: AuxKResult | null = null;
    if (deadCount > 0 && config.auxkAlpha > 0) auxk = pass.auxK(params, batch, pass.deadFeatures, deadCount, config.auxkMax, config.auxkAlpha);
    pass.backward(params, this.grads);
    this.optimizer.step(this.grads as unknown as TensorMap, lr);
    this.stepsDone++;
    const auxkTerm = auxk === null ? 0 : config.auxkAlpha * auxk.auxk;
    return {
      step,
      lr,
      sparsityScale: 1,
      loss: mse + auxkTerm,
      reconstruction: mse,
      mse,
      sparsity: 0,
      kernelPath: pass.path,
      state: { k, threshold: this.threshold, dead_features: deadCount, auxk_loss: auxk?.auxk ?? 0, pre_norm_auxk_loss: auxk?.preNorm ?? null },
    };
  }

  batchStats(batch: Float32Array): BatchStats {
    return lastBatchStats(this.config.trainer, this.pass, this.config.dIn, batch);
  }

  /** k of the next step, θ, and the dead features (spec §3 dead_training at the end of training). */
  trainerState(): Record<string, number | null> {
    const dead = this.tokensSinceFired.counts.reduce((count, tokens) => count + (tokens >= this.config.deadTokens ? 1 : 0), 0);
    return { k: this.kAt(this.stepsDone), threshold: this.threshold, dead_features: dead };
  }

  state(): TrainerCheckpoint {
    const tensors: TrainerCheckpoint["tensors"] = {};
    const adam = this.optimizer.state();
    saveTrained(tensors, RELU_SAE_PARAM_NAMES, this.params as unknown as TensorMap, adam);
    tensors.tokensSinceFired = this.tokensSinceFired.counts.slice();
    return {
      step: this.stepsDone,
      tensors,
      values: { trainer: this.config.trainer, adamSteps: adam.t, random: saveRandom(this.random), threshold: this.threshold },
    };
  }

  restore(checkpoint: TrainerCheckpoint): void {
    const { config } = this;
    checkCheckpointHeader(checkpoint, config.trainer);
    restoreTrained(checkpoint, RELU_SAE_PARAM_NAMES, this.params as unknown as TensorMap, this.optimizer);
    this.tokensSinceFired.counts.set(checkpointTensor(checkpoint, "tokensSinceFired", Int32Array, config.dSae));
    this.random = restoreRandom(checkpoint, config.seed);
    this.threshold = checkpointValue(checkpoint, "threshold", (value): value is number => typeof value === "number");
    this.thresholdChanged();
    this.stepsDone = checkpoint.step;
  }
}
