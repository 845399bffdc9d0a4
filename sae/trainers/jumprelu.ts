// JumpReLU trainer (spec sae.md §2.7; Rajamanoharan et al. 2024, dictionary_learning JumpReluTrainer): z = x·W_enc +
// b_enc (b_dec not subtracted), f = z ⊙ H(z − θ), trained through straight-through estimators with the rectangle
// kernel K(u) = 1[−½ < u < ½] of bandwidth ε:
//   ∂f/∂z = H(z − θ);  ∂f/∂θ = −(θ/ε)·K((z − θ)/ε);  ∂H(s − θ)/∂θ = −(1/ε)·K((s − θ)/ε);  ∂H/∂s = 0.
// Sparsity "gdm" (default): L = mean_b ‖x − x̂‖² + λ·σ(s)·mean_b Σ_i H(z_i − θ_i) with θ = exp(ℓ), ℓ trained
// (∂L/∂ℓ = θ·∂L/∂θ), ℓ₀ = ln 0.001; the L0 term trains θ only. "target-l0": λ·σ(s)·(L0/L0_target − 1)² with
// L0 = mean_b Σ_i H(f_i − θ_i), θ trained directly from 0.001. Adam (0, 0.999), lr 7e-5, clipped unit-norm decoder.
// Activations are normalised to unit mean squared norm by the sweep (`normalize`, spec §1.4); this trainer sees x/c.
//
// Interface:
//   jumpReluConfigSchema                zod: { trainer: "jumprelu", sparsity ("gdm" | "target-l0"), lambda (1e-3 gdm,
//                                       1.0 target-l0), targetL0 (20), bandwidth (ε 0.001), initialThreshold (0.001),
//                                       normalize ("unit-mean-squared-norm"), ...baseTrainerFields }
//   JumpReluConfigInput, JumpReluConfig parsed input / resolved config
//   initJumpReluSae(shape, θ₀, random)  spec §2.7 init (initKaimingTied with the JumpReLU reference's bound and order)
//   JumpReluPass(kernels, shape)        dense forward / reconstruction term / STE backward, buffers reused
//   JumpReluTrainer(input, context)     implements Trainer; saved as SAELens "jumprelu", apply_b_dec_to_input false

import { z } from "zod";
import type { Kernels } from "../../compute/kernels.js";
import { NORMALIZATIONS, type Normalization } from "../normalize.js";
import { CLIPPED_UNIT_NORM_DECODER, ConstrainedAdam, type TensorMap } from "../optim.js";
import { createSae, SaeShapeError, type Sae, type SaeShape } from "../params.js";
import { SaeRandom } from "../random.js";
import { lrFactor, REFERENCE_SCHEDULE, resolveScheduleValue, sparsityFactor, type LrSchedule } from "../schedule.js";
import { baseTrainerFields, resolveBaseConfig, type ResolvedBaseConfig } from "./base-config.js";
import { initKaimingTied } from "./topk-sae.js";
import { checkCheckpointHeader, lastBatchStats, restoreTrained, saveTrained } from "./trainer-state.js";
import {
  checkpointTensor,
  checkpointValue,
  TrainerConfigError,
  TrainerStateError,
  type BatchStats,
  type StepLog,
  type Trainer,
  type TrainerCheckpoint,
  type TrainerContext,
} from "./trainer.js";

export const JUMPRELU_SPARSITY = ["gdm", "target-l0"] as const;
export type JumpReluSparsity = (typeof JUMPRELU_SPARSITY)[number];

export const jumpReluConfigSchema = z.strictObject({
  trainer: z.literal("jumprelu"),
  ...baseTrainerFields,
  /** "gdm": λ·mean_b Σ H(z − θ), θ = exp(ℓ); "target-l0": λ·(L0/L0_target − 1)², θ trained directly. */
  sparsity: z.enum(JUMPRELU_SPARSITY).default("gdm"),
  /** λ; default 1e-3 for "gdm" (the middle of the spec's sweep 1e-4 … 1e-2), 1.0 for "target-l0". */
  lambda: z.number().nonnegative().optional(),
  /** L0_target of "target-l0" (default 20). */
  targetL0: z.number().positive().optional(),
  /** ε, the rectangle kernel's bandwidth. */
  bandwidth: z.number().positive().default(0.001),
  /** θ at init (gdm: ℓ₀ = ln of it). */
  initialThreshold: z.number().positive().default(0.001),
  /** spec §1.4: the sweep feeds x/c and folds c into the saved weights (GDM's setting). */
  normalize: z.enum(NORMALIZATIONS).default("unit-mean-squared-norm"),
});
export type JumpReluConfigInput = z.infer<typeof jumpReluConfigSchema>;

export interface JumpReluConfig extends ResolvedBaseConfig {
  sparsity: JumpReluSparsity;
  lambda: number;
  targetL0: number | null;
  bandwidth: number;
  initialThreshold: number;
  /** The trained threshold tensor: θ = exp(log_threshold) (gdm) or θ itself (target-l0). */
  thresholdParameter: ThresholdParameter;
  init: "kaiming-uniform";
  recon: "l2sq";
  normalize: Normalization;
  /** Dead ⇔ no non-zero activation for this many tokens (reporting only; 10M scaled for short runs). */
  deadTokens: number;
}

export type ThresholdParameter = "log_threshold" | "threshold";

function resolveJumpReluConfig(input: JumpReluConfigInput, context: TrainerContext): JumpReluConfig {
  const base = resolveBaseConfig(input, context, "jumprelu", {
    architecture: "jumprelu",
    lr: 7e-5,
    beta1: 0,
    beta2: 0.999,
    constraint: CLIPPED_UNIT_NORM_DECODER(context.dIn),
    hasSparsityTerm: true,
    resampleSteps: null,
  });
  const gdm = input.sparsity === "gdm";
  if (gdm && input.targetL0 !== undefined) throw new TrainerConfigError(`jumprelu: targetL0 = ${input.targetL0} applies only to sparsity "target-l0", not "gdm"`);
  const deadTokens = resolveScheduleValue(undefined, REFERENCE_SCHEDULE.deadTokens, context.totalSteps);
  if (deadTokens.scaled) base.shortRun.scaled.push("deadTokens");
  return {
    ...base,
    sparsity: input.sparsity,
    lambda: input.lambda ?? (gdm ? 1e-3 : 1.0),
    targetL0: gdm ? null : (input.targetL0 ?? 20),
    bandwidth: input.bandwidth,
    initialThreshold: input.initialThreshold,
    thresholdParameter: gdm ? "log_threshold" : "threshold",
    init: "kaiming-uniform",
    recon: "l2sq",
    normalize: input.normalize,
    deadTokens: deadTokens.value,
  };
}

/** The JumpReLU SAE's tensors under SAELens names; `threshold` is θ (for gdm derived from ℓ after every step). */
export interface JumpReluParams {
  W_enc: Float32Array; // [dIn, dSae]
  b_enc: Float32Array; // [dSae]
  W_dec: Float32Array; // [dSae, dIn], row i = direction of feature i
  b_dec: Float32Array; // [dIn]
  threshold: Float32Array; // [dSae] θ
}

const WEIGHT_NAMES = ["W_enc", "b_enc", "W_dec", "b_dec"] as const;

/**
 * spec §2.7 init (draws only W_dec): W_dec Kaiming-uniform as PyTorch's default (fan_in = dIn, bound √(6/dIn)), rows
 * normalised to 1; W_enc = W_decᵀ; b_enc = b_dec = 0; θ = initialThreshold.
 */
export function initJumpReluSae(shape: SaeShape, initialThreshold: number, random: SaeRandom): JumpReluParams {
  const { W_enc, b_enc, W_dec, b_dec } = initKaimingTied(shape, random, { bound: Math.sqrt(6 / shape.dIn), drawOrder: "rows", normEps: 0 });
  return { W_enc, b_enc, W_dec, b_dec, threshold: new Float32Array(shape.dSae).fill(initialThreshold) };
}

/** The L0-type sparsity term's θ gradient: coefficient·Σ_b ∂H(s_{b,i} − θ_i)/∂θ_i, s = z (gdm) or f (target-l0). */
export interface StepGradient {
  coefficient: number;
  of: "preactivations" | "features";
}

/** Gradients the backward pass writes: the four weights and the trained threshold tensor. */
export type JumpReluGrads = Record<(typeof WEIGHT_NAMES)[number], Float32Array> & { threshold: Float32Array };

/** Buffers and the dense forward/backward of one JumpReLU SAE for batches of B rows. */
export class JumpReluPass {
  batchSize = 0;
  preactivations = new Float32Array(0); // [B, dSae] z = x·W_enc + b_enc
  features = new Float32Array(0); // [B, dSae] f = z ⊙ H(z − θ)
  reconstruction = new Float32Array(0); // [B, dIn] x̂ = f·W_dec + b_dec
  reconstructionGrad = new Float32Array(0); // [B, dIn] ∂L/∂x̂
  featureGrad = new Float32Array(0); // [B, dSae] ∂L/∂f, then ∂L/∂z in place
  private input: Float32Array = new Float32Array(0); // the last forward's x (not copied)
  private readonly thresholdGrad: Float64Array; // [dSae] ∂L/∂θ

  constructor(
    private readonly kernels: Kernels,
    readonly shape: SaeShape,
    /** ε of the rectangle kernel. */
    readonly bandwidth: number,
  ) {
    this.thresholdGrad = new Float64Array(shape.dSae);
  }

  private allocate(batchSize: number): void {
    if (batchSize === this.batchSize) return;
    const { dIn, dSae } = this.shape;
    this.batchSize = batchSize;
    this.preactivations = new Float32Array(batchSize * dSae);
    this.features = new Float32Array(batchSize * dSae);
    this.reconstruction = new Float32Array(batchSize * dIn);
    this.reconstructionGrad = new Float32Array(batchSize * dIn);
    this.featureGrad = new Float32Array(batchSize * dSae);
  }

  forward(params: JumpReluParams, x: Float32Array, batchSize: number): void {
    const { dIn, dSae } = this.shape;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new SaeShapeError(`JumpReluPass: batch size ${batchSize} is not a positive integer`);
    if (x.length !== batchSize * dIn) throw new SaeShapeError(`JumpReluPass: batch has ${x.length} values, expected [${batchSize}, ${dIn}] = ${batchSize * dIn}`);
    this.allocate(batchSize);
    this.input = x;
    const k = this.kernels;
    const { preactivations: z, features: f } = this;
    k.sgemm(false, false, batchSize, dSae, dIn, 1, x, params.W_enc, 0, z);
    k.biasAdd(z, params.b_enc, z, false);
    const theta = params.threshold;
    for (let o = 0; o < z.length; o += dSae) for (let i = 0; i < dSae; i++) f[o + i] = z[o + i] > theta[i] ? z[o + i] : 0;
    k.sgemm(false, false, batchSize, dIn, dSae, 1, f, params.W_dec, 0, this.reconstruction);
    k.biasAdd(this.reconstruction, params.b_dec, this.reconstruction, false);
  }

  /** R = mean_b ‖x − x̂‖² (= MSE); writes ∂R/∂x̂ = 2(x̂ − x)/B. */
  reconstructionLoss(x: Float32Array): number {
    return this.kernels.scaledDifference(this.reconstruction, x, 2 / this.batchSize, this.reconstructionGrad) / this.batchSize;
  }

  /** mean_b Σ_i H(s_{b,i} − θ_i), s = z or f, of the last forward. */
  heavisideL0(threshold: Float32Array, of: StepGradient["of"]): number {
    const { dSae } = this.shape;
    const s = of === "features" ? this.features : this.preactivations;
    let count = 0;
    for (let o = 0; o < s.length; o += dSae) for (let i = 0; i < dSae; i++) if (s[o + i] > threshold[i]) count++;
    return count / this.batchSize;
  }

  /**
   * Gradients of R + the step term into `grads` by the STEs above; grads.threshold receives ∂L/∂θ, or ∂L/∂ℓ = θ·∂L/∂θ
   * when the trained tensor is log_threshold.
   */
  backward(params: JumpReluParams, grads: JumpReluGrads, step: StepGradient, parameter: ThresholdParameter): void {
    const B = this.batchSize;
    const { dIn, dSae } = this.shape;
    const k = this.kernels;
    const { preactivations: z, features: f, featureGrad: g, reconstructionGrad: dx, thresholdGrad } = this;
    const theta = params.threshold;
    const epsilon = this.bandwidth;
    // decoder: dW_dec = fᵀ·∂x̂, db_dec = Σ_b ∂x̂ (b_dec never enters the encoder), ∂f = ∂x̂·W_decᵀ
    k.sgemm(true, false, dSae, dIn, B, 1, f, dx, 0, grads.W_dec);
    k.columnSums(dx, grads.b_dec);
    k.sgemm(false, true, B, dSae, dIn, 1, dx, params.W_dec, 0, g);
    // jump: ∂θ += ∂f·(−θ/ε)K((z − θ)/ε) + c·(−1/ε)K((s − θ)/ε); ∂z = ∂f·H(z − θ)
    thresholdGrad.fill(0);
    const s = step.of === "features" ? f : z;
    const stepSlope = -step.coefficient / epsilon;
    for (let o = 0; o < g.length; o += dSae) {
      for (let i = 0; i < dSae; i++) {
        const u = (z[o + i] - theta[i]) / epsilon;
        let grad = u > -0.5 && u < 0.5 ? -(theta[i] / epsilon) * g[o + i] : 0;
        const v = (s[o + i] - theta[i]) / epsilon;
        if (v > -0.5 && v < 0.5) grad += stepSlope;
        thresholdGrad[i] += grad;
        if (!(z[o + i] > theta[i])) g[o + i] = 0;
      }
    }
    for (let i = 0; i < dSae; i++) grads.threshold[i] = parameter === "log_threshold" ? theta[i] * thresholdGrad[i] : thresholdGrad[i];
    // encoder: dW_enc = xᵀ·∂z, db_enc = Σ_b ∂z
    k.sgemm(true, false, dIn, dSae, B, 1, this.input, g, 0, grads.W_enc);
    k.columnSums(g, grads.b_enc);
  }
}

export class JumpReluTrainer implements Trainer {
  readonly config: JumpReluConfig;
  stepsDone = 0;
  /** The SAE's tensors; params.threshold is θ (gdm: exp(logThreshold), refreshed after every step). */
  readonly params: JumpReluParams;
  /** ℓ (gdm) or θ itself (target-l0): the tensor Adam trains. */
  readonly thresholdParameter: Float32Array;
  readonly pass: JumpReluPass;
  readonly optimizer: ConstrainedAdam;
  /** Steps since each feature last had a non-zero activation (reporting dead features). */
  readonly stepsSinceFired: Int32Array;
  private readonly grads: JumpReluGrads;
  private readonly lrSchedule: LrSchedule;
  private readonly inference: Sae;

  constructor(input: JumpReluConfigInput, context: TrainerContext) {
    const config = resolveJumpReluConfig(input, context);
    this.config = config;
    const shape = { dIn: config.dIn, dSae: config.dSae };
    this.params = initJumpReluSae(shape, config.initialThreshold, new SaeRandom(config.seed));
    this.thresholdParameter = config.thresholdParameter === "log_threshold" ? new Float32Array(config.dSae).fill(Math.log(config.initialThreshold)) : this.params.threshold;
    this.refreshThreshold();
    const { W_enc, b_enc, W_dec, b_dec } = this.params;
    const zeros = (like: Float32Array) => new Float32Array(like.length);
    this.grads = { W_enc: zeros(W_enc), b_enc: zeros(b_enc), W_dec: zeros(W_dec), b_dec: zeros(b_dec), threshold: zeros(this.params.threshold) };
    this.pass = new JumpReluPass(context.kernels, shape, config.bandwidth);
    const { beta1, beta2, eps } = config.adam;
    this.optimizer = new ConstrainedAdam(context.kernels, this.trainedTensors(), { beta1, beta2, eps, constraint: CLIPPED_UNIT_NORM_DECODER(config.dIn) });
    this.lrSchedule = { warmupSteps: config.lrWarmupSteps, decayStart: config.lrDecayStart, totalSteps: config.totalSteps, resampleSteps: null };
    this.stepsSinceFired = new Int32Array(config.dSae);
    this.inference = createSae(context.kernels, { architecture: "jumprelu", dIn: config.dIn, dSae: config.dSae, applyBDecToInput: false }, this.params);
  }

  /** gdm: θ = exp(ℓ) in float32 (> 0 for every finite ℓ above ln of the smallest float32). */
  private refreshThreshold(): void {
    if (this.config.thresholdParameter !== "log_threshold") return;
    for (let i = 0; i < this.thresholdParameter.length; i++) this.params.threshold[i] = Math.exp(this.thresholdParameter[i]);
  }

  step(batch: Float32Array, batchSize: number): StepLog {
    const { config, pass, params } = this;
    const step = this.stepsDone;
    const lr = config.lr * lrFactor(step, this.lrSchedule);
    const sparsityScale = sparsityFactor(step, config.sparsityWarmupSteps);
    pass.forward(params, batch, batchSize);
    const mse = pass.reconstructionLoss(batch);
    const coefficient = config.lambda * sparsityScale;
    let penalty: number;
    let heavisideL0: number;
    let stepGradient: StepGradient;
    if (config.sparsity === "gdm") {
      heavisideL0 = pass.heavisideL0(params.threshold, "preactivations");
      penalty = heavisideL0;
      stepGradient = { coefficient: coefficient / batchSize, of: "preactivations" };
    } else {
      const target = config.targetL0!;
      heavisideL0 = pass.heavisideL0(params.threshold, "features");
      penalty = (heavisideL0 / target - 1) ** 2;
      stepGradient = { coefficient: (coefficient * 2 * (heavisideL0 / target - 1)) / (target * batchSize), of: "features" };
    }
    pass.backward(params, this.grads, stepGradient, config.thresholdParameter);
    this.trackFiring(batchSize);
    const state = { penalty, heavisideL0, ...this.trainerState() }; // θ and dead count of the step's forward pass
    const { threshold: thresholdGrad, ...weightGrads } = this.grads;
    this.optimizer.step({ ...weightGrads, [config.thresholdParameter]: thresholdGrad }, lr);
    this.refreshThreshold();
    this.stepsDone++;
    const sparsity = coefficient * penalty;
    return { step, lr, sparsityScale, loss: mse + sparsity, reconstruction: mse, mse, sparsity, state };
  }

  private trackFiring(batchSize: number): void {
    const { features } = this.pass;
    const { dSae } = this.config;
    for (let i = 0; i < dSae; i++) this.stepsSinceFired[i]++;
    for (let o = 0; o < batchSize * dSae; o += dSae) for (let i = 0; i < dSae; i++) if (features[o + i] !== 0) this.stepsSinceFired[i] = 0;
  }

  batchStats(batch: Float32Array): BatchStats {
    return lastBatchStats("jumprelu", this.pass, this.config.dIn, batch);
  }

  trainerState(): Record<string, number | null> {
    const { threshold } = this.params;
    let sum = 0;
    for (let i = 0; i < threshold.length; i++) sum += threshold[i];
    let dead = 0;
    for (let i = 0; i < this.stepsSinceFired.length; i++) if (this.stepsSinceFired[i] * this.config.batchSize >= this.config.deadTokens) dead++;
    return { thresholdMean: sum / threshold.length, deadFeatures: dead };
  }

  sae(): Sae {
    return this.inference;
  }

  /** The tensors Adam trains, in its update order: the weights, then ℓ or θ under its own name. */
  private trainedNames(): string[] {
    return [...WEIGHT_NAMES, this.config.thresholdParameter];
  }

  private trainedTensors(): TensorMap {
    const { W_enc, b_enc, W_dec, b_dec } = this.params;
    return { W_enc, b_enc, W_dec, b_dec, [this.config.thresholdParameter]: this.thresholdParameter };
  }

  state(): TrainerCheckpoint {
    const adam = this.optimizer.state();
    const tensors: TrainerCheckpoint["tensors"] = { stepsSinceFired: this.stepsSinceFired.slice() };
    saveTrained(tensors, this.trainedNames(), this.trainedTensors(), adam);
    return { step: this.stepsDone, tensors, values: { trainer: "jumprelu", sparsity: this.config.sparsity, adamSteps: adam.t } };
  }

  restore(checkpoint: TrainerCheckpoint): void {
    const { config } = this;
    checkCheckpointHeader(checkpoint, "jumprelu");
    const sparsity = checkpointValue(checkpoint, "sparsity", (v): v is string => typeof v === "string");
    if (sparsity !== config.sparsity) throw new TrainerStateError(`checkpoint of a jumprelu trainer with sparsity "${sparsity}" cannot restore one with sparsity "${config.sparsity}"`);
    restoreTrained(checkpoint, this.trainedNames(), this.trainedTensors(), this.optimizer);
    this.stepsSinceFired.set(checkpointTensor(checkpoint, "stepsSinceFired", Int32Array, config.dSae));
    this.refreshThreshold();
    this.stepsDone = checkpoint.step;
  }
}
