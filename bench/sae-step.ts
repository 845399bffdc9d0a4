// One training step of a standard ReLU + L1 SAE on the Kernels interface: the benchmark workload. It runs the
// trainers' own pass (sae/trainers/sparse-relu-sae.ts: dense by default, or the sparse-kernel path of spec §7) and
// ConstrainedAdam (sae/optim.ts) at a fixed λ and lr — no warm-ups, so every timed step does full work.
// Spec sae.md §0 (shapes), §1.2 (Adam, unit-norm decoder), §2.1, §7.

import type { Kernels } from "../compute/kernels.js";
import { ConstrainedAdam, UNIT_NORM_DECODER, type TensorMap } from "../sae/optim.js";
import type { SaeShape } from "../sae/params.js";
import { SaeRandom } from "../sae/random.js";
import { initReluSae, RELU_SAE_PARAM_NAMES, zeroReluSaeParams, type ReluSaeParams } from "../sae/trainers/relu-sae.js";
import { SparseReluSaePass, type KernelPath } from "../sae/trainers/sparse-relu-sae.js";

export interface SaeStepShape extends SaeShape {
  batch: number;
}

export interface SaeStepOptions {
  /** λ of the L1 term λ·mean_b Σ_i f_i (no sparsity warm-up: a benchmark runs at full strength). */
  l1Coefficient: number;
  lr: number;
  /** spec §7: "dense" (default), "sparse", or "auto" at `densityThreshold`. */
  kernelPath?: KernelPath;
  densityThreshold?: number;
}

export const DEFAULT_SAE_STEP_OPTIONS: SaeStepOptions = { l1Coefficient: 0.05, lr: 1e-3 };

// spec sae.md §2 table: the standard trainer's Adam β (0.9, 0.999); §1.2: eps 1e-8
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export interface SaeLoss {
  /** mean_b ‖x − x̂‖² */
  reconstruction: number;
  /** λ·mean_b Σ_i f_i */
  sparsity: number;
  total: number;
}

/** All buffers of one SAE training step, allocated once; `step` runs forward, backward, constraint and Adam. */
export class SaeStepWorkload {
  readonly params: ReluSaeParams;
  readonly grads: ReluSaeParams;
  /** The pass; after a step, pass.path says which path ran and pass.active holds the sparse path's active sets. */
  readonly pass: SparseReluSaePass;
  private readonly optimizer: ConstrainedAdam;
  private readonly featureSums: Float32Array; // [dSae]

  constructor(
    private readonly kernels: Kernels,
    readonly shape: SaeStepShape,
    readonly options: SaeStepOptions = DEFAULT_SAE_STEP_OPTIONS,
    initial: ReluSaeParams = initReluSae(shape, "tied", new SaeRandom(42)),
  ) {
    for (const [name, value] of Object.entries(shape)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`SaeStepWorkload: shape.${name} = ${value}, expected a positive integer`);
    }
    this.params = zeroReluSaeParams(shape);
    for (const name of RELU_SAE_PARAM_NAMES) {
      if (initial[name].length !== this.params[name].length) {
        throw new RangeError(`SaeStepWorkload: initial.${name} has ${initial[name].length} elements, expected ${this.params[name].length}`);
      }
      this.params[name].set(initial[name]);
    }
    this.grads = zeroReluSaeParams(shape);
    this.pass = new SparseReluSaePass(kernels, shape, { kernelPath: options.kernelPath ?? "dense", densityThreshold: options.densityThreshold ?? 0 });
    this.optimizer = new ConstrainedAdam(kernels, this.params as unknown as TensorMap, { ...ADAM, constraint: UNIT_NORM_DECODER(shape.dIn) });
    this.featureSums = new Float32Array(shape.dSae);
  }

  /** Forward and hand-derived backward on x [batch, dIn]; fills `grads` and returns the loss before any update. */
  lossAndGradients(x: Float32Array): SaeLoss {
    const { batch } = this.shape;
    if (x.length !== batch * this.shape.dIn) throw new RangeError(`SaeStepWorkload: x has ${x.length} elements, expected batch·dIn = ${batch * this.shape.dIn}`);
    this.pass.forward(this.params, x, batch);
    const { reconstruction } = this.pass.reconstructionLoss(x, "l2sq");
    this.kernels.columnSums(this.pass.features, this.featureSums);
    let featureTotal = 0;
    for (let i = 0; i < this.featureSums.length; i++) featureTotal += this.featureSums[i];
    const lambdaPerRow = this.options.l1Coefficient / batch;
    this.pass.backward(this.params, this.grads, { l1PerRow: lambdaPerRow, featureGradFilled: false });
    const sparsity = lambdaPerRow * featureTotal;
    return { reconstruction, sparsity, total: reconstruction + sparsity };
  }

  /** One training step on x: gradients, decoder projection, Adam on every parameter, decoder renormalisation. */
  step(x: Float32Array): SaeLoss {
    const loss = this.lossAndGradients(x);
    this.optimizer.step(this.grads as unknown as TensorMap, this.options.lr);
    return loss;
  }

  /** Multiply-adds of one step's matrix products, ×2 (five B·d_in·d_sae products plus a matrix-vector product). */
  flopsPerStep(): number {
    const { batch, dIn, dSae } = this.shape;
    return 2 * (5 * batch * dIn * dSae + dIn * dSae);
  }
}
