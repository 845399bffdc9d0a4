// Adam exactly as PyTorch and the unit-norm decoder constraint around it (spec sae.md §1.2), on the Kernels.
//
// Interface:
//   TensorMap                         named Float32Arrays (parameters, gradients, moments)
//   AdamOptions { beta1, beta2, eps } PyTorch defaults eps 1e-8; β per trainer (spec §2 table)
//   Adam(kernels, params, options)    step(grads, lr): t ← t + 1, m, v, bias-corrected update on every parameter
//                                     moments(name) → { m, v } (resampling zeroes entries); state()/restore()
//   DecoderConstraint, UNIT_NORM_DECODER(dIn), CLIPPED_UNIT_NORM_DECODER(dIn)
//   ConstrainedAdam(kernels, params, options & { constraint })
//                                     step: project decoder-row gradients, [clip the global norm], Adam, renormalise
//   clipGradNorm(kernels, grads, maxNorm) → total norm before clipping (torch.nn.utils.clip_grad_norm_)
//
// Adam runs on every parameter every step, with lr 0 too (step 0 of the warm-up): the moments still move.

import type { Kernels } from "../compute/kernels.js";

export type TensorMap = Record<string, Float32Array>;

export interface AdamOptions {
  beta1: number;
  beta2: number;
  /** PyTorch's default 1e-8. */
  eps: number;
}

/** Optimiser state for a checkpoint: the step count and copies of the moments. */
export interface AdamState {
  /** Adam steps taken (the next step's bias correction uses t + 1). */
  t: number;
  m: TensorMap;
  v: TensorMap;
}

/** An optimiser state or gradient set that does not fit the parameters; names the tensor and both sizes. */
export class OptimizerStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptimizerStateError";
  }
}

export class Adam {
  protected readonly m: TensorMap = {};
  protected readonly v: TensorMap = {};
  protected t = 0;

  constructor(
    protected readonly kernels: Kernels,
    /** Updated in place; the insertion order is the update order. */
    readonly params: TensorMap,
    readonly options: AdamOptions,
  ) {
    for (const [name, param] of Object.entries(params)) {
      this.m[name] = new Float32Array(param.length);
      this.v[name] = new Float32Array(param.length);
    }
  }

  /** Adam steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** One PyTorch Adam step with learning rate `lr` on every parameter. */
  step(grads: TensorMap, lr: number): void {
    this.checkGrads(grads);
    this.t++;
    const { beta1, beta2, eps } = this.options;
    const opts = { lr, beta1, beta2, eps, step: this.t, weightDecay: 0 };
    for (const [name, param] of Object.entries(this.params)) this.kernels.adam(param, grads[name], this.m[name], this.v[name], opts);
  }

  /** The live moments of one parameter. */
  moments(name: string): { m: Float32Array; v: Float32Array } {
    if (!(name in this.m)) throw new OptimizerStateError(`Adam: no parameter named ${name}`);
    return { m: this.m[name], v: this.v[name] };
  }

  state(): AdamState {
    const copy = (tensors: TensorMap) => Object.fromEntries(Object.entries(tensors).map(([name, value]) => [name, value.slice()]));
    return { t: this.t, m: copy(this.m), v: copy(this.v) };
  }

  restore(state: AdamState): void {
    if (!Number.isInteger(state.t) || state.t < 0) throw new OptimizerStateError(`Adam.restore: t = ${state.t}, expected a non-negative integer`);
    for (const [name, param] of Object.entries(this.params)) {
      for (const [moment, tensors] of [["m", state.m], ["v", state.v]] as const) {
        const saved = tensors[name];
        if (saved === undefined) throw new OptimizerStateError(`Adam.restore: moment ${moment} of ${name} is missing`);
        if (saved.length !== param.length) {
          throw new OptimizerStateError(`Adam.restore: moment ${moment} of ${name} has ${saved.length} elements, the parameter ${param.length}`);
        }
      }
      this.m[name].set(state.m[name]);
      this.v[name].set(state.v[name]);
    }
    this.t = state.t;
  }

  protected checkGrads(grads: TensorMap): void {
    for (const [name, param] of Object.entries(this.params)) {
      const grad = grads[name];
      if (grad === undefined) throw new OptimizerStateError(`Adam.step: no gradient for ${name}`);
      if (grad.length !== param.length) throw new OptimizerStateError(`Adam.step: gradient of ${name} has ${grad.length} elements, the parameter ${param.length}`);
    }
  }
}

/** The unit-norm decoder rows of spec §1.2 and the epsilons of each variant. */
export interface DecoderConstraint {
  /** The constrained parameter, [rows, cols] row-major, each row kept at unit norm. */
  name: string;
  cols: number;
  /** ŵ_i = w_i/(‖w_i‖ + projectionEps) in the gradient projection. */
  projectionEps: number;
  /** w_i ← w_i/(‖w_i‖ + renormEps) after the step. */
  renormEps: number;
  /** Clip the global gradient norm over all parameters to this (after the projection), or null. */
  clipGradNorm: number | null;
}

/** spec §1.2 ConstrainedAdam (standard, p_anneal, gated, gated_anneal): exact norms, no clipping. */
export function UNIT_NORM_DECODER(dIn: number): DecoderConstraint {
  return { name: "W_dec", cols: dIn, projectionEps: 0, renormEps: 0, clipGradNorm: null };
}

/** float32 machine epsilon (torch.finfo(float32).eps), the renormalisation epsilon of the clipped variant. */
export const FLOAT32_EPSILON = 2 ** -23;

/** spec §1.2 variant for TopK, BatchTopK, JumpReLU: projection eps 1e-6, global clip 1.0, renorm eps float32 ε. */
export function CLIPPED_UNIT_NORM_DECODER(dIn: number): DecoderConstraint {
  return { name: "W_dec", cols: dIn, projectionEps: 1e-6, renormEps: FLOAT32_EPSILON, clipGradNorm: 1 };
}

/**
 * torch.nn.utils.clip_grad_norm_: total = ‖all gradients‖₂ (float64 here), every gradient × min(1, max/(total + 1e-6)).
 * Returns the total norm before clipping.
 */
export function clipGradNorm(kernels: Kernels, grads: Float32Array[], maxNorm: number): number {
  let sumSquares = 0;
  for (const grad of grads) sumSquares += kernels.sumSquares(grad);
  const total = Math.sqrt(sumSquares);
  const coefficient = Math.fround(maxNorm / (total + 1e-6));
  if (coefficient < 1) {
    for (const grad of grads) for (let i = 0; i < grad.length; i++) grad[i] *= coefficient;
  }
  return total;
}

export class ConstrainedAdam extends Adam {
  readonly constraint: DecoderConstraint;
  /** The global gradient norm before clipping at the last step (NaN where the variant does not clip). */
  lastGradNorm = NaN;

  constructor(kernels: Kernels, params: TensorMap, options: AdamOptions & { constraint: DecoderConstraint }) {
    super(kernels, params, { beta1: options.beta1, beta2: options.beta2, eps: options.eps });
    const { constraint } = options;
    const decoder = params[constraint.name];
    if (decoder === undefined) throw new OptimizerStateError(`ConstrainedAdam: no parameter named ${constraint.name} to constrain`);
    if (!Number.isInteger(constraint.cols) || constraint.cols < 1 || decoder.length % constraint.cols !== 0) {
      throw new OptimizerStateError(`ConstrainedAdam: ${constraint.name} has ${decoder.length} elements, not rows of ${constraint.cols}`);
    }
    this.constraint = constraint;
  }

  /** spec §1.2: project out each row's parallel gradient, [clip], Adam on every parameter, renormalise the rows. */
  override step(grads: TensorMap, lr: number): void {
    this.checkGrads(grads);
    const { name, cols, projectionEps, renormEps, clipGradNorm: maxNorm } = this.constraint;
    const decoder = this.params[name];
    this.kernels.projectOutParallel(grads[name], decoder, cols, projectionEps);
    if (maxNorm !== null) {
      this.lastGradNorm = clipGradNorm(this.kernels, Object.keys(this.params).map((key) => grads[key]), maxNorm);
    }
    super.step(grads, lr);
    this.kernels.normalizeRows(decoder, cols, renormEps);
  }
}
