// The ReLU SAE shared by the standard and p-anneal trainers (spec sae.md §2.1, §2.2): its parameters, its two
// inits, and the dense forward/backward pass on the Kernels with the reconstruction term `l2sq` or `l2` (spec §0).
//
// Interface:
//   ReluSaeParams { W_enc [dIn, dSae], b_enc [dSae], W_dec [dSae, dIn], b_dec [dIn] }
//   RECON_KINDS / ReconKind ("l2sq" | "l2"), INIT_KINDS / InitKind ("tied" | "paper")
//   initReluSae(shape, init, random) → ReluSaeParams                       spec §2.1
//   zeroReluSaeParams(shape)
//   ReluSaePass(kernels, shape): the dense path, buffers reused across steps
//     forward(params, x, B)                 centered = x − b_dec, features f = ReLU(z), reconstruction x̂
//     reconstructionLoss(x, recon)          → { reconstruction: R, mse }; writes ∂R/∂x̂ into reconstructionGrad
//     backward(params, grads, sparsity)     every ∂L/∂param into grads; the sparsity term enters as a constant
//                                           per active unit (l1PerRow, the L1 case) and/or a gradient the trainer
//                                           wrote into featureGrad beforehand (featureGradFilled, the Lp^p case)
// The sparse-kernel path (spec §7), sparse-relu-sae.ts SparseReluSaePass, extends this class: it keeps encodeForward
// and reconstructionLoss and replaces the decoder half and backward once f is sparse.

import type { Kernels } from "../../compute/kernels.js";
import { fillNormal } from "../../model/init.js";
import { SaeShapeError, type SaeShape } from "../params.js";
import type { SaeRandom } from "../random.js";

export interface ReluSaeParams {
  W_enc: Float32Array; // [dIn, dSae]
  b_enc: Float32Array; // [dSae]
  W_dec: Float32Array; // [dSae, dIn], row i = direction of feature i
  b_dec: Float32Array; // [dIn]
}

export const RELU_SAE_PARAM_NAMES = ["W_enc", "b_enc", "W_dec", "b_dec"] as const;

export const RECON_KINDS = ["l2sq", "l2"] as const;
export type ReconKind = (typeof RECON_KINDS)[number];

export const INIT_KINDS = ["tied", "paper"] as const;
export type InitKind = (typeof INIT_KINDS)[number];

export function zeroReluSaeParams({ dIn, dSae }: SaeShape): ReluSaeParams {
  return {
    W_enc: new Float32Array(dIn * dSae),
    b_enc: new Float32Array(dSae),
    W_dec: new Float32Array(dSae * dIn),
    b_dec: new Float32Array(dIn),
  };
}

/** Scales each row of w [rows, cols] to norm `target` (float64 norm). */
function scaleRows(w: Float32Array, cols: number, target: number): void {
  for (let o = 0; o < w.length; o += cols) {
    let normSq = 0;
    for (let j = 0; j < cols; j++) normSq += w[o + j] * w[o + j];
    const scale = target / Math.sqrt(normSq);
    for (let j = 0; j < cols; j++) w[o + j] *= scale;
  }
}

function fillUniform(random: SaeRandom, out: Float32Array, bound: number): void {
  for (let i = 0; i < out.length; i++) out[i] = (random.uniform() * 2 - 1) * bound;
}

/**
 * spec §2.1. "tied": G ~ N(0,1) [dSae, dIn], rows scaled to norm 0.1, W_dec = G, W_enc = Gᵀ. "paper": W_dec rows
 * normalised Gaussians, W_enc ~ U(±1/√dIn) independently. Both: b_enc ~ U(±1/√dIn) (PyTorch Linear bias), b_dec = 0.
 * Draw order: W_dec, [W_enc], b_enc.
 */
export function initReluSae(shape: SaeShape, init: InitKind, random: SaeRandom): ReluSaeParams {
  const { dIn, dSae } = shape;
  const params = zeroReluSaeParams(shape);
  const bound = 1 / Math.sqrt(dIn);
  fillNormal(random.next, params.W_dec, 1);
  if (init === "tied") {
    scaleRows(params.W_dec, dIn, 0.1);
    for (let i = 0; i < dSae; i++) for (let j = 0; j < dIn; j++) params.W_enc[j * dSae + i] = params.W_dec[i * dIn + j];
  } else {
    scaleRows(params.W_dec, dIn, 1);
    fillUniform(random, params.W_enc, bound);
  }
  fillUniform(random, params.b_enc, bound);
  return params;
}

/** How the sparsity term enters the backward pass. */
export interface SparsityGradient {
  /** Added to ∂L/∂f on every active unit (L1: λ·σ(s)/B); 0 for none. */
  l1PerRow: number;
  /** The trainer wrote ∂(sparsity)/∂f into featureGrad (0 where f = 0) before backward. */
  featureGradFilled: boolean;
}

/** Buffers and the dense forward/backward of one ReLU SAE for batches of B rows. */
export class ReluSaePass {
  batchSize = 0;
  centered = new Float32Array(0); // [B, dIn] x − b_dec
  features = new Float32Array(0); // [B, dSae] f = ReLU(z); f > 0 exactly where z > 0
  reconstruction = new Float32Array(0); // [B, dIn] x̂
  reconstructionGrad = new Float32Array(0); // [B, dIn] ∂L/∂x̂
  featureGrad = new Float32Array(0); // [B, dSae] ∂L/∂f, then ∂L/∂z in place
  private readonly negatedDecoderBias: Float32Array; // [dIn]

  constructor(
    protected readonly kernels: Kernels,
    readonly shape: SaeShape,
  ) {
    this.negatedDecoderBias = new Float32Array(shape.dIn);
  }

  private allocate(batchSize: number): void {
    if (batchSize === this.batchSize) return;
    const { dIn, dSae } = this.shape;
    this.batchSize = batchSize;
    this.centered = new Float32Array(batchSize * dIn);
    this.features = new Float32Array(batchSize * dSae);
    this.reconstruction = new Float32Array(batchSize * dIn);
    this.reconstructionGrad = new Float32Array(batchSize * dIn);
    this.featureGrad = new Float32Array(batchSize * dSae);
  }

  /** z = (x − b_dec)W_enc + b_enc, f = ReLU(z), x̂ = f·W_dec + b_dec. */
  forward(params: ReluSaeParams, x: Float32Array, batchSize: number): void {
    this.encodeForward(params, x, batchSize);
    this.decodeForward(params);
  }

  /** The encoder half of forward: centered = x − b_dec, f = ReLU(centered·W_enc + b_enc). */
  protected encodeForward(params: ReluSaeParams, x: Float32Array, batchSize: number): void {
    const { dIn, dSae } = this.shape;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new SaeShapeError(`ReluSaePass: batch size ${batchSize} is not a positive integer`);
    if (x.length !== batchSize * dIn) throw new SaeShapeError(`ReluSaePass: batch has ${x.length} values, expected [${batchSize}, ${dIn}] = ${batchSize * dIn}`);
    this.allocate(batchSize);
    const k = this.kernels;
    this.negatedDecoderBias.fill(0);
    k.axpy(-1, params.b_dec, this.negatedDecoderBias);
    k.biasAdd(x, this.negatedDecoderBias, this.centered, false);
    k.sgemm(false, false, batchSize, dSae, dIn, 1, this.centered, params.W_enc, 0, this.features);
    k.biasAdd(this.features, params.b_enc, this.features, true);
  }

  /** The dense decoder half of forward: x̂ = f·W_dec + b_dec. */
  protected decodeForward(params: ReluSaeParams): void {
    const { dIn, dSae } = this.shape;
    const k = this.kernels;
    k.sgemm(false, false, this.batchSize, dIn, dSae, 1, this.features, params.W_dec, 0, this.reconstruction);
    k.biasAdd(this.reconstruction, params.b_dec, this.reconstruction, false);
  }

  /**
   * spec §0 / §7: l2sq R = mean_b ‖x − x̂‖², ∂R/∂x̂_b = 2(x̂_b − x_b)/B; l2 R = mean_b ‖x − x̂‖,
   * ∂R/∂x̂_b = (x̂_b − x_b)/(B·‖x_b − x̂_b‖) (0 for an exact row, as PyTorch's norm backward).
   */
  reconstructionLoss(x: Float32Array, recon: ReconKind): { reconstruction: number; mse: number } {
    const B = this.batchSize;
    const { dIn } = this.shape;
    const grad = this.reconstructionGrad;
    if (recon === "l2sq") {
      const squaredError = this.kernels.scaledDifference(this.reconstruction, x, 2 / B, grad);
      return { reconstruction: squaredError / B, mse: squaredError / B };
    }
    const squaredError = this.kernels.scaledDifference(this.reconstruction, x, 1, grad);
    let normSum = 0;
    for (let b = 0; b < B; b++) {
      const o = b * dIn;
      let rowSq = 0;
      for (let j = 0; j < dIn; j++) rowSq += grad[o + j] * grad[o + j];
      const norm = Math.sqrt(rowSq);
      normSum += norm;
      const scale = norm > 0 ? 1 / (B * norm) : 0;
      for (let j = 0; j < dIn; j++) grad[o + j] *= scale;
    }
    return { reconstruction: normSum / B, mse: squaredError / B };
  }

  /** Gradients of R + sparsity into `grads`, from the buffers of the last forward and reconstructionLoss. */
  backward(params: ReluSaeParams, grads: ReluSaeParams, sparsity: SparsityGradient): void {
    const B = this.batchSize;
    const { dIn, dSae } = this.shape;
    const k = this.kernels;
    const dx = this.reconstructionGrad;
    // decoder: dW_dec = fᵀ·∂x̂, db_dec = Σ_b ∂x̂, ∂f = ∂x̂·W_decᵀ (+ the trainer's sparsity gradient)
    k.sgemm(true, false, dSae, dIn, B, 1, this.features, dx, 0, grads.W_dec);
    k.columnSums(dx, grads.b_dec);
    k.sgemm(false, true, B, dSae, dIn, 1, dx, params.W_dec, sparsity.featureGradFilled ? 1 : 0, this.featureGrad);
    // ReLU (+ constant L1 term on active units): ∂z = (∂f + l1)·[z > 0]
    k.reluBackward(this.featureGrad, this.features, sparsity.l1PerRow, this.featureGrad);
    // encoder: dW_enc = (x − b_dec)ᵀ·∂z, db_enc = Σ_b ∂z, and b_dec's encoder-side term −W_enc·db_enc
    k.sgemm(true, false, dIn, dSae, B, 1, this.centered, this.featureGrad, 0, grads.W_enc);
    k.columnSums(this.featureGrad, grads.b_enc);
    k.sgemm(false, false, dIn, 1, dSae, -1, params.W_enc, grads.b_enc, 1, grads.b_dec);
  }
}
