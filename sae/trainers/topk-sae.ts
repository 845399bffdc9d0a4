// The TopK SAE shared by the TopK and BatchTopK trainers (spec sae.md §2.5, §2.6; dictionary_learning
// AutoEncoderTopK / BatchTopKSAE; Gao et al. 2024): a = ReLU((x − b_dec)W_enc + b_enc), f = the k largest of a per
// token ("row") or the k·B largest of the batch ("batch"), L = mean_b ‖x − x̂‖² + (1/32)·AuxK; its init, dead
// tracking in tokens and the inference threshold θ. The training loop is topk-trainer.ts's.
//
// Interface:
//   initKaimingTied(shape, random, init)  Kaiming-uniform decoder rows normalised, W_enc = W_decᵀ, biases 0 (TopK, JumpReLU)
//   initTopKSae(shape, random)            spec §2.5: initKaimingTied with the TopK reference's bound, order and ε
//   geometricMedian(points, count, d)     Weiszfeld (spec §2.5), float64: b_dec of the first batch
//   TokensSinceFired                      dead tracking (tokens since each feature was last selected/fired)
//   tokenThresholdSample / batchThresholdSample / updateThreshold   θ's m and EMA
//   SelectionMode ("row" | "batch")
//   TopKSaePass(kernels, shape, options?) buffers reused across steps; options { kernelPath, densityThreshold }
//                                         (default "dense") pick the spec §7 sparse-kernel path as the ReLU SAE's:
//     forward(params, x, B, k, mode)      a, f (top-k, ties → lower index), x̂; marks `fired`
//     reconstructionLoss(x)               mean_b ‖x − x̂‖²; writes ∂/∂x̂
//     auxK(params, x, dead, D, kMax, α)   AuxK over the dead features, e = x − x̂ held constant
//     backward(params, grads)             every ∂L/∂param (AuxK included when auxK ran this step)
//     path                                the path the last forward took (auxK and backward follow it)
// Sparse path (spec §7): the encoder and the selection stay dense; x̂ from the kept entries (f ≠ 0: selected zeros
// add nothing and pass no gradient), AuxK's ê from a second active set over the dead features (no b_dec), and the
// backward over both sets (AuxK accumulated), db_dec = Σ_b g_b − W_enc·db_enc once at the end as the dense path.

import type { Kernels } from "../../compute/kernels.js";
import { FLOAT32_EPSILON } from "../optim.js";
import { SaeShapeError, type SaeShape } from "../params.js";
import type { SaeRandom } from "../random.js";
import { keepTopK } from "../top-k.js";
import { ActiveSets, sparseBackward, sparseDecode } from "./active-sets.js";
import { zeroReluSaeParams, type ReluSaeParams } from "./relu-sae.js";
import type { ChosenKernelPath, KernelPathOptions } from "./sparse-relu-sae.js";

/** How a Kaiming-uniform tied init draws W_dec; the TopK and JumpReLU references differ in all three (spec §2.5, §2.7). */
export interface KaimingTiedInit {
  /** Draws are U(±bound). */
  bound: number;
  /** "rows": W_dec's own [dSae, dIn] order; "columns": the [dIn, dSae] order of a PyTorch Linear(d_sae → d_in) weight. */
  drawOrder: "rows" | "columns";
  /** Rows are divided by ‖w‖ + normEps. */
  normEps: number;
}

/** W_dec [dSae, dIn] drawn U(±bound) in `drawOrder`, rows normalised by ‖w‖ + normEps; W_enc = W_decᵀ; b_enc = b_dec = 0. */
export function initKaimingTied(shape: SaeShape, random: SaeRandom, { bound, drawOrder, normEps }: KaimingTiedInit): ReluSaeParams {
  const { dIn, dSae } = shape;
  const params = zeroReluSaeParams(shape);
  const { W_dec, W_enc } = params;
  if (drawOrder === "rows") for (let i = 0; i < W_dec.length; i++) W_dec[i] = (random.uniform() * 2 - 1) * bound;
  else for (let j = 0; j < dIn; j++) for (let i = 0; i < dSae; i++) W_dec[i * dIn + j] = (random.uniform() * 2 - 1) * bound;
  for (let i = 0; i < dSae; i++) {
    const row = W_dec.subarray(i * dIn, (i + 1) * dIn);
    let normSq = 0;
    for (let j = 0; j < dIn; j++) normSq += row[j] * row[j];
    const norm = Math.sqrt(normSq) + normEps;
    for (let j = 0; j < dIn; j++) row[j] /= norm;
    for (let j = 0; j < dIn; j++) W_enc[j * dSae + i] = row[j];
  }
  return params;
}

/**
 * spec §2.5 init: W_dec Kaiming-uniform (PyTorch Linear(d_sae → d_in): U(±1/√d_sae), drawn in its [d_in, d_sae]
 * order), rows normalised by ‖w‖ + ε_f32 (set_decoder_norm_to_unit_norm); W_enc = W_decᵀ; b_enc = b_dec = 0.
 */
export function initTopKSae(shape: SaeShape, random: SaeRandom): ReluSaeParams {
  return initKaimingTied(shape, random, { bound: 1 / Math.sqrt(shape.dSae), drawOrder: "columns", normEps: FLOAT32_EPSILON });
}

/**
 * spec §2.5: geometric median of `count` rows of width d by Weiszfeld: m ← mean; ≤ maxIterations of
 * w_b = 1/max(‖x_b − m‖, 1e-12), w normalised to sum 1, m′ = Σ_b w_b·x_b; stops (returning m′) when ‖m′ − m‖ < tolerance.
 */
export function geometricMedian(points: Float32Array, count: number, d: number, maxIterations = 100, tolerance = 1e-5): Float64Array {
  let median = new Float64Array(d);
  for (let b = 0; b < count; b++) for (let j = 0; j < d; j++) median[j] += points[b * d + j];
  for (let j = 0; j < d; j++) median[j] /= count;
  const weights = new Float64Array(count);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    let total = 0;
    for (let b = 0; b < count; b++) {
      let distanceSq = 0;
      for (let j = 0; j < d; j++) distanceSq += (points[b * d + j] - median[j]) ** 2;
      weights[b] = 1 / Math.max(Math.sqrt(distanceSq), 1e-12);
      total += weights[b];
    }
    const next = new Float64Array(d);
    for (let b = 0; b < count; b++) {
      const weight = weights[b] / total;
      for (let j = 0; j < d; j++) next[j] += weight * points[b * d + j];
    }
    let shiftSq = 0;
    for (let j = 0; j < d; j++) shiftSq += (next[j] - median[j]) ** 2;
    median = next;
    if (Math.sqrt(shiftSq) < tolerance) break;
  }
  return median;
}

const INT32_MAX = 2 ** 31 - 1;

/** spec §2.5 dead tracking: c_i = tokens since feature i last fired (saturating at 2³¹ − 1, far past any window). */
export class TokensSinceFired {
  readonly counts: Int32Array;

  constructor(readonly dSae: number) {
    this.counts = new Int32Array(dSae);
  }

  /** One step of `tokens` tokens: c_i += tokens, then c_i = 0 for every feature with fired[i] = 1. */
  observe(fired: Uint8Array, tokens: number): void {
    for (let i = 0; i < this.dSae; i++) this.counts[i] = fired[i] ? 0 : Math.min(this.counts[i] + tokens, INT32_MAX);
  }

  /** Writes the dead features (c_i ≥ window) into `out` in increasing order; returns their number D. */
  dead(window: number, out: Int32Array): number {
    let count = 0;
    for (let i = 0; i < this.dSae; i++) if (this.counts[i] >= window) out[count++] = i;
    return count;
  }
}

/** spec §2.5 (TopK) m: mean over tokens of the smallest positive selected value; tokens with none skipped; null if none has one. */
export function tokenThresholdSample(features: Float32Array, batchSize: number, dSae: number): number | null {
  let total = 0;
  let tokens = 0;
  for (let b = 0; b < batchSize; b++) {
    let smallest = Infinity;
    for (let i = b * dSae; i < (b + 1) * dSae; i++) if (features[i] > 0 && features[i] < smallest) smallest = features[i];
    if (smallest === Infinity) continue;
    total += smallest;
    tokens++;
  }
  return tokens === 0 ? null : total / tokens;
}

/** spec §2.6 (BatchTopK) m: the smallest positive selected value of the batch, 0 if none. */
export function batchThresholdSample(features: Float32Array): number {
  let smallest = Infinity;
  for (let i = 0; i < features.length; i++) if (features[i] > 0 && features[i] < smallest) smallest = features[i];
  return smallest === Infinity ? 0 : smallest;
}

/** θ ← m if θ < 0, else β·θ + (1 − β)·m; stored as float32 (the reference's threshold buffer). */
export function updateThreshold(threshold: number, sample: number, beta: number): number {
  return Math.fround(threshold < 0 ? sample : beta * threshold + (1 - beta) * sample);
}

/** "row": the k largest of each token's a (TopK); "batch": the k·B largest of the whole matrix (BatchTopK). */
export type SelectionMode = "row" | "batch";

/** What AuxK returned for one step. */
export interface AuxKResult {
  /** AuxK = mean_b ‖e − ê‖² / mean_b ‖e − mean_b e‖² (0 where not finite). */
  auxk: number;
  /** mean_b ‖e − ê‖² (the reference's pre_norm_auxk_loss). */
  preNorm: number;
}

/** Buffers and the dense forward/backward of one TopK SAE for batches of B rows (AuxK over the dead features only). */
export class TopKSaePass {
  batchSize = 0;
  centered = new Float32Array(0); // [B, dIn] x − b_dec
  activations = new Float32Array(0); // [B, dSae] a = ReLU(z)
  features = new Float32Array(0); // [B, dSae] f: a on the selected entries, 0 elsewhere
  reconstruction = new Float32Array(0); // [B, dIn] x̂ = f·W_dec + b_dec
  reconstructionGrad = new Float32Array(0); // [B, dIn] ∂L/∂x̂ = 2(x̂ − x)/B
  featureGrad = new Float32Array(0); // [B, dSae] ∂L/∂z
  /** [dSae] 1 for every feature that fired this step (TopK: selected for some token; BatchTopK: a positive selected value). */
  readonly fired: Uint8Array;
  /** AuxK's dead features of this step ([0, auxCount) used; 0 = no AuxK gradient this step). */
  readonly deadFeatures: Int32Array;
  auxCount = 0;
  /** The path of the last forward (auxK and backward follow it). */
  path: ChosenKernelPath = "dense";
  /** The kept entries of f (valid after a sparse forward). */
  readonly active: ActiveSets;
  /** AuxK's entries f_aux over the dead features (valid after a sparse auxK with D > 0). */
  readonly auxActive: ActiveSets;
  private readonly negatedDecoderBias: Float32Array; // [dIn]
  private readonly rowScratch: Float32Array; // [dSae]
  // AuxK buffers, compact over the D dead features; grown on demand, used through views of the step's size
  private auxStore = { features: new Float32Array(0), featureGrad: new Float32Array(0), decoder: new Float32Array(0), decoderGrad: new Float32Array(0) };
  private residual = new Float32Array(0); // [B, dIn] e = x − x̂ (a constant for AuxK)
  private auxReconstruction = new Float32Array(0); // [B, dIn] ê = f_aux·W_dec, no b_dec
  private auxGrad = new Float32Array(0); // [B, dIn] ∂(α·AuxK)/∂ê

  constructor(
    private readonly kernels: Kernels,
    readonly shape: SaeShape,
    readonly options: KernelPathOptions = { kernelPath: "dense", densityThreshold: 0 },
  ) {
    if (!(options.densityThreshold >= 0 && options.densityThreshold <= 1)) {
      throw new RangeError(`TopKSaePass: densityThreshold = ${options.densityThreshold}, expected a fraction in [0, 1]`);
    }
    this.active = new ActiveSets(shape.dSae);
    this.auxActive = new ActiveSets(shape.dSae);
    this.fired = new Uint8Array(shape.dSae);
    this.deadFeatures = new Int32Array(shape.dSae);
    this.negatedDecoderBias = new Float32Array(shape.dIn);
    this.rowScratch = new Float32Array(shape.dSae);
  }

  private allocate(batchSize: number): void {
    if (batchSize === this.batchSize) return;
    const { dIn, dSae } = this.shape;
    this.batchSize = batchSize;
    this.centered = new Float32Array(batchSize * dIn);
    this.activations = new Float32Array(batchSize * dSae);
    this.features = new Float32Array(batchSize * dSae);
    this.reconstruction = new Float32Array(batchSize * dIn);
    this.reconstructionGrad = new Float32Array(batchSize * dIn);
    this.featureGrad = new Float32Array(batchSize * dSae);
    this.residual = new Float32Array(batchSize * dIn);
    this.auxReconstruction = new Float32Array(batchSize * dIn);
    this.auxGrad = new Float32Array(batchSize * dIn);
  }

  /** a = ReLU((x − b_dec)W_enc + b_enc), f = top-k of a (ties → lower index), x̂ = f·W_dec + b_dec; marks `fired`. */
  forward(params: ReluSaeParams, x: Float32Array, batchSize: number, k: number, mode: SelectionMode): void {
    const { dIn, dSae } = this.shape;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new SaeShapeError(`TopKSaePass: batch size ${batchSize} is not a positive integer`);
    if (x.length !== batchSize * dIn) throw new SaeShapeError(`TopKSaePass: batch has ${x.length} values, expected [${batchSize}, ${dIn}] = ${batchSize * dIn}`);
    this.allocate(batchSize);
    const kernels = this.kernels;
    this.negatedDecoderBias.fill(0);
    kernels.axpy(-1, params.b_dec, this.negatedDecoderBias);
    kernels.biasAdd(x, this.negatedDecoderBias, this.centered, false);
    kernels.sgemm(false, false, batchSize, dSae, dIn, 1, this.centered, params.W_enc, 0, this.activations);
    kernels.biasAdd(this.activations, params.b_enc, this.activations, true);
    const { activations, features, fired } = this;
    fired.fill(0);
    if (mode === "row") {
      // spec §2.5: every selected feature fires, a selected 0 included
      for (let b = 0; b < batchSize; b++) keepTopK(activations, features, b * dSae, dSae, k, this.rowScratch, fired);
    } else {
      // spec §2.6: features is the quickselect scratch, then receives the selection
      keepTopK(activations, features, 0, batchSize * dSae, k * batchSize, features);
      for (let b = 0; b < batchSize; b++) for (let i = 0; i < dSae; i++) if (features[b * dSae + i] > 0) fired[i] = 1;
    }
    this.auxCount = 0;
    this.path = this.choosePath();
    if (this.path === "sparse") {
      sparseDecode(this.active, params.W_dec, dIn, params.b_dec, this.reconstruction);
      return;
    }
    kernels.sgemm(false, false, batchSize, dIn, dSae, 1, features, params.W_dec, 0, this.reconstruction);
    kernels.biasAdd(this.reconstruction, params.b_dec, this.reconstruction, false);
  }

  /** "sparse" gathers every kept entry; "auto" gives up (dense) once more than the threshold's share is found. */
  private choosePath(): ChosenKernelPath {
    const { kernelPath, densityThreshold } = this.options;
    if (kernelPath === "dense") return "dense";
    const maxActive = kernelPath === "sparse" ? Number.POSITIVE_INFINITY : Math.floor(densityThreshold * this.batchSize * this.shape.dSae);
    return this.active.gather(this.features, this.batchSize, maxActive) ? "sparse" : "dense";
  }

  /** mean_b ‖x − x̂‖²; writes ∂/∂x̂ = 2(x̂ − x)/B into reconstructionGrad. */
  reconstructionLoss(x: Float32Array): number {
    return this.kernels.scaledDifference(this.reconstruction, x, 2 / this.batchSize, this.reconstructionGrad) / this.batchSize;
  }

  /**
   * spec §2.5 AuxK over the dead features dead[0, D) (increasing): k_aux = min(auxkMax, D) largest of a among them per
   * token (ties → lower index), ê = f_aux·W_dec (no b_dec), e = x − x̂ held constant. Prepares the gradient of
   * alpha·AuxK for backward(); a non-finite AuxK (zero residual variance) counts as 0 with no gradient.
   */
  auxK(params: ReluSaeParams, x: Float32Array, dead: Int32Array, deadCount: number, auxkMax: number, alpha: number): AuxKResult {
    const B = this.batchSize;
    const { dIn, dSae } = this.shape;
    const D = deadCount;
    const kernels = this.kernels;
    const aux = this.auxViews(B, D);
    if (dead !== this.deadFeatures) this.deadFeatures.set(dead.subarray(0, D));
    dead = this.deadFeatures;
    for (let i = 0; i < B * dIn; i++) this.residual[i] = x[i] - this.reconstruction[i];
    const sparse = this.path === "sparse";
    if (!sparse) for (let j = 0; j < D; j++) aux.decoder.set(params.W_dec.subarray(dead[j] * dIn, (dead[j] + 1) * dIn), j * dIn);
    const kAux = Math.min(auxkMax, D);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < D; j++) aux.features[b * D + j] = this.activations[b * dSae + dead[j]];
      keepTopK(aux.features, aux.features, b * D, D, kAux, this.rowScratch);
    }
    if (sparse) {
      this.auxActive.gatherColumns(aux.features, B, dead, D);
      sparseDecode(this.auxActive, params.W_dec, dIn, null, this.auxReconstruction);
    } else kernels.sgemm(false, false, B, dIn, D, 1, aux.features, aux.decoder, 0, this.auxReconstruction);
    const columnMeans = new Float64Array(dIn);
    for (let b = 0; b < B; b++) for (let j = 0; j < dIn; j++) columnMeans[j] += this.residual[b * dIn + j] / B;
    let errorSq = 0;
    let varianceSq = 0;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < dIn; j++) {
        const e = this.residual[b * dIn + j];
        errorSq += (e - this.auxReconstruction[b * dIn + j]) ** 2;
        varianceSq += (e - columnMeans[j]) ** 2;
      }
    }
    const preNorm = errorSq / B;
    const denominator = varianceSq / B;
    const auxk = preNorm / denominator;
    if (!Number.isFinite(auxk)) return { auxk: 0, preNorm };
    // ∂(α·AuxK)/∂ê_b = −2α(e_b − ê_b)/(B·denominator)
    const scale = (-2 * alpha) / (B * denominator);
    for (let i = 0; i < B * dIn; i++) this.auxGrad[i] = scale * (this.residual[i] - this.auxReconstruction[i]);
    this.auxCount = D;
    return { auxk, preNorm };
  }

  private auxViews(B: number, D: number) {
    const { dIn } = this.shape;
    const store = this.auxStore;
    if (store.features.length < B * D) store.features = new Float32Array(B * D);
    if (store.featureGrad.length < B * D) store.featureGrad = new Float32Array(B * D);
    if (store.decoder.length < D * dIn) store.decoder = new Float32Array(D * dIn);
    if (store.decoderGrad.length < D * dIn) store.decoderGrad = new Float32Array(D * dIn);
    return {
      features: store.features.subarray(0, B * D), // [B, D] f_aux
      featureGrad: store.featureGrad.subarray(0, B * D), // [B, D] ∂/∂f_aux
      decoder: store.decoder.subarray(0, D * dIn), // [D, dIn] the dead features' W_dec rows
      decoderGrad: store.decoderGrad.subarray(0, D * dIn), // [D, dIn] their AuxK gradient
    };
  }

  /** Gradients of mean_b ‖x − x̂‖² (+ α·AuxK when auxK ran this step) into `grads`. */
  backward(params: ReluSaeParams, grads: ReluSaeParams): void {
    if (this.path === "sparse") {
      this.sparseBackward(params, grads);
      return;
    }
    const B = this.batchSize;
    const { dIn, dSae } = this.shape;
    const kernels = this.kernels;
    const dx = this.reconstructionGrad;
    // decoder: dW_dec = fᵀ·∂x̂, db_dec = Σ_b ∂x̂, ∂z = ∂x̂·W_decᵀ on the selected entries with a > 0 (top-k, ReLU)
    kernels.sgemm(true, false, dSae, dIn, B, 1, this.features, dx, 0, grads.W_dec);
    kernels.columnSums(dx, grads.b_dec);
    kernels.sgemm(false, true, B, dSae, dIn, 1, dx, params.W_dec, 0, this.featureGrad);
    kernels.reluBackward(this.featureGrad, this.features, 0, this.featureGrad);
    const D = this.auxCount;
    if (D > 0) {
      // AuxK: the dead features' W_dec rows and, through f_aux > 0, their ∂z; never b_dec's decoder side or e
      const aux = this.auxViews(B, D);
      kernels.sgemm(true, false, D, dIn, B, 1, aux.features, this.auxGrad, 0, aux.decoderGrad);
      for (let j = 0; j < D; j++) kernels.axpy(1, aux.decoderGrad.subarray(j * dIn, (j + 1) * dIn), grads.W_dec.subarray(this.deadFeatures[j] * dIn, (this.deadFeatures[j] + 1) * dIn));
      kernels.sgemm(false, true, B, D, dIn, 1, this.auxGrad, aux.decoder, 0, aux.featureGrad);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < D; j++) if (aux.features[b * D + j] > 0) this.featureGrad[b * dSae + this.deadFeatures[j]] += aux.featureGrad[b * D + j];
      }
    }
    // encoder: dW_enc = (x − b_dec)ᵀ·∂z, db_enc = Σ_b ∂z, and b_dec's encoder-side term −W_enc·db_enc
    kernels.sgemm(true, false, dIn, dSae, B, 1, this.centered, this.featureGrad, 0, grads.W_enc);
    kernels.columnSums(this.featureGrad, grads.b_enc);
    kernels.sgemm(false, false, dIn, 1, dSae, -1, params.W_enc, grads.b_enc, 1, grads.b_dec);
  }

  /**
   * spec §7 over the kept entries, then AuxK's entries accumulated (its g = ∂(α·AuxK)/∂ê, no sparsity term);
   * db_dec = Σ_b ∂x̂ − W_enc·db_enc once, db_enc holding both. featureGrad is not written on this path.
   */
  private sparseBackward(params: ReluSaeParams, grads: ReluSaeParams): void {
    const { dIn, dSae } = this.shape;
    const kernels = this.kernels;
    const common = { dIn, encoderInput: this.centered, W_dec: params.W_dec, featureGrad: null, l1PerRow: 0 };
    this.active.indexByFeature();
    sparseBackward({ ...common, sets: this.active, outputGrad: this.reconstructionGrad }, grads, false);
    if (this.auxCount > 0) {
      this.auxActive.indexByFeature();
      sparseBackward({ ...common, sets: this.auxActive, outputGrad: this.auxGrad }, grads, true);
    }
    kernels.columnSums(this.reconstructionGrad, grads.b_dec);
    kernels.sgemm(false, false, dIn, 1, dSae, -1, params.W_enc, grads.b_enc, 1, grads.b_dec);
  }
}
