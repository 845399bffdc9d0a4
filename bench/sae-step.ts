// One training step of a standard ReLU + L1 SAE on the Kernels interface: a benchmark workload, not the trainer
// (the real trainers live in sae/). Spec sae.md §0 (shapes), §1.2 (Adam, unit-norm decoder), §2.1 (standard SAE).

import type { Kernels } from "../compute/kernels.js";

export interface SaeShape {
  batch: number;
  dIn: number;
  dSae: number;
}

export interface SaeStepOptions {
  /** λ of the L1 term λ·mean_b Σ_i f_i (no sparsity warm-up: a benchmark runs at full strength). */
  l1Coefficient: number;
  lr: number;
}

export const DEFAULT_SAE_STEP_OPTIONS: SaeStepOptions = { l1Coefficient: 0.05, lr: 1e-3 };

// spec sae.md §2 table: standard trainer uses Adam β (0.9, 0.999); §1.2: eps 1e-8
const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPS = 1e-8;
// spec sae.md §1.2: the standard trainer's ConstrainedAdam normalises by ‖w_i‖ exactly (no epsilon)
const DECODER_NORM_EPS = 0;

export interface SaeLoss {
  /** mean_b ‖x − x̂‖² */
  reconstruction: number;
  /** λ·mean_b Σ_i f_i */
  sparsity: number;
  total: number;
}

/** Parameters (or their gradients, or an Adam moment) of one SAE, row-major. */
export interface SaeTensors {
  encoderWeights: Float32Array; // [dIn, dSae]
  encoderBias: Float32Array; // [dSae]
  decoderWeights: Float32Array; // [dSae, dIn], row i = direction of feature i
  decoderBias: Float32Array; // [dIn]
}

const TENSOR_NAMES = ["encoderWeights", "encoderBias", "decoderWeights", "decoderBias"] as const;

function zeroTensors({ dIn, dSae }: SaeShape): SaeTensors {
  return {
    encoderWeights: new Float32Array(dIn * dSae),
    encoderBias: new Float32Array(dSae),
    decoderWeights: new Float32Array(dSae * dIn),
    decoderBias: new Float32Array(dIn),
  };
}

/** A standard Gaussian sample from a uniform [0, 1) source (Box–Muller). */
function gaussian(uniform: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** spec sae.md §2.1 tied init: decoder rows N(0,1) scaled to norm 0.1, W_enc = W_decᵀ, b_enc ~ U(±1/√d_in), b_dec = 0. */
export function tiedInit(shape: SaeShape, uniform: () => number): SaeTensors {
  const { dIn, dSae } = shape;
  const params = zeroTensors(shape);
  for (let i = 0; i < dSae; i++) {
    const row = params.decoderWeights.subarray(i * dIn, (i + 1) * dIn);
    let normSq = 0;
    for (let j = 0; j < dIn; j++) {
      row[j] = gaussian(uniform);
      normSq += row[j] * row[j];
    }
    const scale = 0.1 / Math.sqrt(normSq);
    for (let j = 0; j < dIn; j++) {
      row[j] *= scale;
      params.encoderWeights[j * dSae + i] = row[j];
    }
  }
  const bound = 1 / Math.sqrt(dIn);
  for (let i = 0; i < dSae; i++) params.encoderBias[i] = (uniform() * 2 - 1) * bound;
  return params;
}

/** All buffers of one SAE training step, allocated once; `step` runs forward, backward, constraint and Adam. */
export class SaeStepWorkload {
  readonly params: SaeTensors;
  readonly grads: SaeTensors;
  private readonly firstMoments: SaeTensors;
  private readonly secondMoments: SaeTensors;
  private readonly centered: Float32Array; // [batch, dIn]: x − b_dec
  private readonly features: Float32Array; // [batch, dSae]: f = ReLU(z); f > 0 exactly where z > 0
  private readonly preActivationGrad: Float32Array; // [batch, dSae]: ∂L/∂f, then ∂L/∂z in place
  private readonly reconstructionGrad: Float32Array; // [batch, dIn]: x̂, then ∂L/∂x̂ in place
  private readonly negatedDecoderBias: Float32Array; // [dIn]
  private readonly featureSums: Float32Array; // [dSae]
  private adamStep = 0;

  constructor(
    private readonly kernels: Kernels,
    readonly shape: SaeShape,
    readonly options: SaeStepOptions = DEFAULT_SAE_STEP_OPTIONS,
    initial: SaeTensors = tiedInit(shape, Math.random),
  ) {
    const { batch, dIn, dSae } = shape;
    for (const [name, value] of Object.entries(shape)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`SaeStepWorkload: shape.${name} = ${value}, expected a positive integer`);
    }
    this.params = zeroTensors(shape);
    for (const name of TENSOR_NAMES) {
      if (initial[name].length !== this.params[name].length) {
        throw new RangeError(`SaeStepWorkload: initial.${name} has ${initial[name].length} elements, expected ${this.params[name].length}`);
      }
      this.params[name].set(initial[name]);
    }
    this.grads = zeroTensors(shape);
    this.firstMoments = zeroTensors(shape);
    this.secondMoments = zeroTensors(shape);
    this.centered = new Float32Array(batch * dIn);
    this.features = new Float32Array(batch * dSae);
    this.preActivationGrad = new Float32Array(batch * dSae);
    this.reconstructionGrad = new Float32Array(batch * dIn);
    this.negatedDecoderBias = new Float32Array(dIn);
    this.featureSums = new Float32Array(dSae);
  }

  /** Forward and hand-derived backward on x [batch, dIn]; fills `grads` and returns the loss before any update. */
  lossAndGradients(x: Float32Array): SaeLoss {
    const { batch, dIn, dSae } = this.shape;
    if (x.length !== batch * dIn) throw new RangeError(`SaeStepWorkload: x has ${x.length} elements, expected batch·dIn = ${batch * dIn}`);
    const k = this.kernels;
    const p = this.params;
    const g = this.grads;
    const lambdaPerRow = this.options.l1Coefficient / batch;

    // forward: z = (x − b_dec)W_enc + b_enc, f = ReLU(z), x̂ = f W_dec + b_dec
    this.negatedDecoderBias.fill(0);
    k.axpy(-1, p.decoderBias, this.negatedDecoderBias);
    k.biasAdd(x, this.negatedDecoderBias, this.centered, false);
    k.sgemm(false, false, batch, dSae, dIn, 1, this.centered, p.encoderWeights, 0, this.features);
    k.biasAdd(this.features, p.encoderBias, this.features, true);
    k.sgemm(false, false, batch, dIn, dSae, 1, this.features, p.decoderWeights, 0, this.reconstructionGrad);
    k.biasAdd(this.reconstructionGrad, p.decoderBias, this.reconstructionGrad, false);

    // loss; ∂L/∂x̂ = 2(x̂ − x)/B overwrites x̂
    const squaredError = k.scaledDifference(this.reconstructionGrad, x, 2 / batch, this.reconstructionGrad);
    k.columnSums(this.features, this.featureSums);
    let featureTotal = 0;
    for (let i = 0; i < dSae; i++) featureTotal += this.featureSums[i];
    const reconstruction = squaredError / batch;
    const sparsity = lambdaPerRow * featureTotal;

    // decoder: dW_dec = fᵀ·∂x̂, db_dec = Σ_b ∂x̂, ∂f = ∂x̂·W_decᵀ
    k.sgemm(true, false, dSae, dIn, batch, 1, this.features, this.reconstructionGrad, 0, g.decoderWeights);
    k.columnSums(this.reconstructionGrad, g.decoderBias);
    k.sgemm(false, true, batch, dSae, dIn, 1, this.reconstructionGrad, p.decoderWeights, 0, this.preActivationGrad);

    // ReLU + L1: ∂z = (∂f + λ/B)·[z > 0]
    k.reluBackward(this.preActivationGrad, this.features, lambdaPerRow, this.preActivationGrad);

    // encoder: dW_enc = (x − b_dec)ᵀ·∂z, db_enc = Σ_b ∂z, and b_dec's encoder-side term −W_enc·db_enc
    k.sgemm(true, false, dIn, dSae, batch, 1, this.centered, this.preActivationGrad, 0, g.encoderWeights);
    k.columnSums(this.preActivationGrad, g.encoderBias);
    k.sgemm(false, false, dIn, 1, dSae, -1, p.encoderWeights, g.encoderBias, 1, g.decoderBias);

    return { reconstruction, sparsity, total: reconstruction + sparsity };
  }

  /** One training step on x: gradients, decoder projection, Adam on every parameter, decoder renormalisation. */
  step(x: Float32Array): SaeLoss {
    const loss = this.lossAndGradients(x);
    const k = this.kernels;
    const { dIn } = this.shape;
    // spec sae.md §1.2 ConstrainedAdam: remove each decoder row's parallel gradient, step, renormalise
    k.projectOutParallel(this.grads.decoderWeights, this.params.decoderWeights, dIn, DECODER_NORM_EPS);
    this.adamStep++;
    const adam = { lr: this.options.lr, beta1: BETA1, beta2: BETA2, eps: ADAM_EPS, step: this.adamStep, weightDecay: 0 };
    for (const name of TENSOR_NAMES) {
      k.adam(this.params[name], this.grads[name], this.firstMoments[name], this.secondMoments[name], adam);
    }
    k.normalizeRows(this.params.decoderWeights, dIn, DECODER_NORM_EPS);
    return loss;
  }

  /** Multiply-adds of one step's matrix products, ×2 (five B·d_in·d_sae products plus a matrix-vector product). */
  flopsPerStep(): number {
    const { batch, dIn, dSae } = this.shape;
    return 2 * (5 * batch * dIn * dSae + dIn * dSae);
  }
}
