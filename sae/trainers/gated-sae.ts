// The gated SAE shared by the gated and gated_anneal trainers (spec sae.md §2.3, §2.4; Rajamanoharan et al. 2024;
// dictionary_learning GatedAutoEncoder): its parameters, its inits, and the dense forward/backward pass of
// L = R + sparsity(ReLU(π_gate)) + A on the Kernels.
//
//   u = (x − b_dec)·W_enc              π_gate = u + b_gate          π_mag = u ⊙ exp(r_mag) + b_mag
//   f = 1[π_gate > 0] ⊙ ReLU(π_mag)    x̂ = f·W_dec + b_dec          x̂_gate = ReLU(π_gate)·sg(W_dec) + sg(b_dec)
//   R = mean_b ‖x − x̂‖²                A = mean_b ‖x − x̂_gate‖²     (squared in both eras)
//
// The step 1[π_gate > 0] passes no gradient: W_enc and b_gate learn through the sparsity and auxiliary terms, W_enc,
// r_mag and b_mag through R. A's stop-gradient means W_dec and the output b_dec see R only; b_dec still gets A's
// and the sparsity term's gradient through the encoder input x − b_dec.
//
// Interface:
//   GatedSaeParams { W_enc [dIn, dSae], b_gate, b_mag, r_mag [dSae], W_dec [dSae, dIn], b_dec [dIn] }
//   GATED_SAE_PARAM_NAMES (SAELens order), zeroGatedSaeParams(shape)
//   initGatedSae(shape, init, random)        spec §2.3 ("tied" W_enc = W_decᵀ; "paper" W_enc ~ U(±1/√dIn))
//   GatedSaePass(kernels, shape): buffers reused across steps
//     forward(params, x, B)                  gate = ReLU(π_gate), features f, reconstruction x̂, gateReconstruction x̂_gate
//     losses(x) → { reconstruction: R, auxiliary: A }; writes ∂R/∂x̂ and ∂A/∂x̂_gate
//     backward(params, grads, sparsity)      every ∂L/∂param; the sparsity term acts on the gate: a constant per
//                                            active unit (l1PerRow, L1) and/or a gradient the trainer wrote into
//                                            gateGrad beforehand (gateGradFilled, Lp^p)

import type { Kernels } from "../../compute/kernels.js";
import { fillNormal } from "../../model/init.js";
import { SaeShapeError, type SaeShape } from "../params.js";
import type { SaeRandom } from "../random.js";
import type { InitKind } from "./relu-sae.js";

export interface GatedSaeParams {
  W_enc: Float32Array; // [dIn, dSae]
  b_gate: Float32Array; // [dSae]
  b_mag: Float32Array; // [dSae]
  r_mag: Float32Array; // [dSae], magnitude scale exp(r_mag)
  W_dec: Float32Array; // [dSae, dIn], row i = direction of feature i
  b_dec: Float32Array; // [dIn]
}

export const GATED_SAE_PARAM_NAMES = ["W_enc", "b_gate", "b_mag", "r_mag", "W_dec", "b_dec"] as const;

export function zeroGatedSaeParams({ dIn, dSae }: SaeShape): GatedSaeParams {
  return {
    W_enc: new Float32Array(dIn * dSae),
    b_gate: new Float32Array(dSae),
    b_mag: new Float32Array(dSae),
    r_mag: new Float32Array(dSae),
    W_dec: new Float32Array(dSae * dIn),
    b_dec: new Float32Array(dIn),
  };
}

/**
 * spec §2.3: b_gate = b_mag = r_mag = b_dec = 0; W_dec rows random unit vectors (normalised Gaussians). "tied"
 * (current dictionary_learning): W_enc = W_decᵀ. "paper" (paper-era): W_enc ~ U(±1/√dIn) independently (PyTorch's
 * Linear init). Draw order: W_dec, [W_enc].
 */
export function initGatedSae(shape: SaeShape, init: InitKind, random: SaeRandom): GatedSaeParams {
  const { dIn, dSae } = shape;
  const params = zeroGatedSaeParams(shape);
  fillNormal(random.next, params.W_dec, 1);
  for (let o = 0; o < params.W_dec.length; o += dIn) {
    let normSq = 0;
    for (let j = 0; j < dIn; j++) normSq += params.W_dec[o + j] ** 2;
    const scale = 1 / Math.sqrt(normSq);
    for (let j = 0; j < dIn; j++) params.W_dec[o + j] *= scale;
  }
  if (init === "tied") {
    for (let i = 0; i < dSae; i++) for (let j = 0; j < dIn; j++) params.W_enc[j * dSae + i] = params.W_dec[i * dIn + j];
  } else {
    const bound = 1 / Math.sqrt(dIn);
    for (let i = 0; i < params.W_enc.length; i++) params.W_enc[i] = (random.uniform() * 2 - 1) * bound;
  }
  return params;
}

/** How the sparsity term on ReLU(π_gate) enters the backward pass. */
export interface GateSparsityGradient {
  /** Added to ∂L/∂ReLU(π_gate) on every open gate (L1: λ·σ(s)/B); 0 for none. */
  l1PerRow: number;
  /** The trainer wrote ∂(sparsity)/∂ReLU(π_gate) into gateGrad (0 where the gate is closed) before backward. */
  gateGradFilled: boolean;
}

/** Buffers and the dense forward/backward of one gated SAE for batches of B rows. */
export class GatedSaePass {
  batchSize = 0;
  centered = new Float32Array(0); // [B, dIn] x − b_dec
  encoded = new Float32Array(0); // [B, dSae] u = (x − b_dec)·W_enc
  gate = new Float32Array(0); // [B, dSae] ReLU(π_gate); > 0 exactly where the gate is open
  features = new Float32Array(0); // [B, dSae] f = 1[π_gate > 0]·ReLU(π_mag)
  reconstruction = new Float32Array(0); // [B, dIn] x̂
  gateReconstruction = new Float32Array(0); // [B, dIn] x̂_gate
  reconstructionGrad = new Float32Array(0); // [B, dIn] ∂R/∂x̂
  gateReconstructionGrad = new Float32Array(0); // [B, dIn] ∂A/∂x̂_gate
  gateGrad = new Float32Array(0); // [B, dSae] ∂L/∂ReLU(π_gate), then ∂L/∂π_gate, then ∂L/∂u in place
  magnitudeGrad = new Float32Array(0); // [B, dSae] ∂L/∂f, then ∂L/∂π_mag in place
  private readonly negatedDecoderBias: Float32Array; // [dIn]
  private readonly magnitudeScale: Float32Array; // [dSae] exp(r_mag) of the last forward
  private readonly encodedGradSums: Float32Array; // [dSae] Σ_b ∂L/∂u

  constructor(
    private readonly kernels: Kernels,
    readonly shape: SaeShape,
  ) {
    this.negatedDecoderBias = new Float32Array(shape.dIn);
    this.magnitudeScale = new Float32Array(shape.dSae);
    this.encodedGradSums = new Float32Array(shape.dSae);
  }

  private allocate(batchSize: number): void {
    if (batchSize === this.batchSize) return;
    const { dIn, dSae } = this.shape;
    this.batchSize = batchSize;
    this.centered = new Float32Array(batchSize * dIn);
    this.encoded = new Float32Array(batchSize * dSae);
    this.gate = new Float32Array(batchSize * dSae);
    this.features = new Float32Array(batchSize * dSae);
    this.reconstruction = new Float32Array(batchSize * dIn);
    this.gateReconstruction = new Float32Array(batchSize * dIn);
    this.reconstructionGrad = new Float32Array(batchSize * dIn);
    this.gateReconstructionGrad = new Float32Array(batchSize * dIn);
    this.gateGrad = new Float32Array(batchSize * dSae);
    this.magnitudeGrad = new Float32Array(batchSize * dSae);
  }

  forward(params: GatedSaeParams, x: Float32Array, batchSize: number): void {
    const { dIn, dSae } = this.shape;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new SaeShapeError(`GatedSaePass: batch size ${batchSize} is not a positive integer`);
    if (x.length !== batchSize * dIn) throw new SaeShapeError(`GatedSaePass: batch has ${x.length} values, expected [${batchSize}, ${dIn}] = ${batchSize * dIn}`);
    this.allocate(batchSize);
    const k = this.kernels;
    const { encoded, gate, features, magnitudeScale } = this;
    this.negatedDecoderBias.fill(0);
    k.axpy(-1, params.b_dec, this.negatedDecoderBias);
    k.biasAdd(x, this.negatedDecoderBias, this.centered, false);
    k.sgemm(false, false, batchSize, dSae, dIn, 1, this.centered, params.W_enc, 0, encoded);
    k.biasAdd(encoded, params.b_gate, gate, true);
    for (let i = 0; i < dSae; i++) magnitudeScale[i] = Math.exp(params.r_mag[i]);
    for (let o = 0; o < encoded.length; o += dSae) {
      for (let i = 0; i < dSae; i++) {
        const magnitude = Math.fround(encoded[o + i] * magnitudeScale[i]) + params.b_mag[i];
        features[o + i] = gate[o + i] > 0 && magnitude > 0 ? magnitude : 0;
      }
    }
    k.sgemm(false, false, batchSize, dIn, dSae, 1, features, params.W_dec, 0, this.reconstruction);
    k.biasAdd(this.reconstruction, params.b_dec, this.reconstruction, false);
    k.sgemm(false, false, batchSize, dIn, dSae, 1, gate, params.W_dec, 0, this.gateReconstruction);
    k.biasAdd(this.gateReconstruction, params.b_dec, this.gateReconstruction, false);
  }

  /** R = mean_b ‖x − x̂‖², A = mean_b ‖x − x̂_gate‖²; ∂R/∂x̂_b = 2(x̂_b − x_b)/B, ∂A/∂x̂_gate,b likewise. */
  losses(x: Float32Array): { reconstruction: number; auxiliary: number } {
    const B = this.batchSize;
    const reconstruction = this.kernels.scaledDifference(this.reconstruction, x, 2 / B, this.reconstructionGrad) / B;
    const auxiliary = this.kernels.scaledDifference(this.gateReconstruction, x, 2 / B, this.gateReconstructionGrad) / B;
    return { reconstruction, auxiliary };
  }

  /** Gradients of R + sparsity + A into `grads`, from the buffers of the last forward and losses. */
  backward(params: GatedSaeParams, grads: GatedSaeParams, sparsity: GateSparsityGradient): void {
    const B = this.batchSize;
    const { dIn, dSae } = this.shape;
    const k = this.kernels;
    const { encoded, gateGrad, magnitudeGrad, magnitudeScale } = this;
    const dRecon = this.reconstructionGrad;
    // decoder, R only (A sees sg(W_dec), sg(b_dec)): dW_dec = fᵀ·∂x̂, db_dec = Σ_b ∂x̂
    k.sgemm(true, false, dSae, dIn, B, 1, this.features, dRecon, 0, grads.W_dec);
    k.columnSums(dRecon, grads.b_dec);
    // magnitude path: ∂π_mag = (∂x̂·W_decᵀ)·1[f > 0] (f > 0 ⇔ open gate and π_mag > 0)
    k.sgemm(false, true, B, dSae, dIn, 1, dRecon, params.W_dec, 0, magnitudeGrad);
    k.reluBackward(magnitudeGrad, this.features, 0, magnitudeGrad);
    k.columnSums(magnitudeGrad, grads.b_mag);
    // gate path: ∂π_gate = (∂x̂_gate·W_decᵀ + sparsity)·1[π_gate > 0]; the step in f adds nothing
    k.sgemm(false, true, B, dSae, dIn, 1, this.gateReconstructionGrad, params.W_dec, sparsity.gateGradFilled ? 1 : 0, gateGrad);
    k.reluBackward(gateGrad, this.gate, sparsity.l1PerRow, gateGrad);
    k.columnSums(gateGrad, grads.b_gate);
    // ∂r_mag_i = exp(r_mag_i)·Σ_b ∂π_mag·u; ∂u = ∂π_gate + ∂π_mag·exp(r_mag) (into gateGrad)
    const magnitudeRateGrad = new Float64Array(dSae);
    for (let o = 0; o < encoded.length; o += dSae) {
      for (let i = 0; i < dSae; i++) {
        const grad = magnitudeGrad[o + i];
        if (grad === 0) continue;
        magnitudeRateGrad[i] += grad * encoded[o + i];
        gateGrad[o + i] += grad * magnitudeScale[i];
      }
    }
    for (let i = 0; i < dSae; i++) grads.r_mag[i] = magnitudeScale[i] * magnitudeRateGrad[i];
    // encoder: dW_enc = (x − b_dec)ᵀ·∂u, and b_dec's encoder-side term −W_enc·Σ_b ∂u
    k.sgemm(true, false, dIn, dSae, B, 1, this.centered, gateGrad, 0, grads.W_enc);
    k.columnSums(gateGrad, this.encodedGradSums);
    k.sgemm(false, false, dIn, 1, dSae, -1, params.W_enc, this.encodedGradSums, 1, grads.b_dec);
  }
}
