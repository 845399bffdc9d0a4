// Sparse-kernel training of the ReLU SAE (spec sae.md §7): the dense pass of relu-sae.ts with its decoder half and
// backward done over the active features only once f is sparse. The encoder forward stays dense (it decides the
// active sets); Adam, the decoder projection and renormalisation stay dense in the trainer. Same signatures as
// ReluSaePass (forward, reconstructionLoss, backward) and the same buffers, so the trainers cannot tell the paths
// apart except by speed; test/sae/sparse-relu-sae.test.ts holds the two equal over 100 training steps.
// A TopK pass can extend this class and override encodeForward (ReLU, then keep the top k in place): the dense
// backward's ReLU mask and the active sets then both follow the kept entries.
//
// Interface:
//   KERNEL_PATHS / KernelPath ("auto" | "dense" | "sparse"), ChosenKernelPath ("dense" | "sparse")
//   SPARSE_BREAK_EVEN[provider]           active fraction nnz/(B·d_sae) at or below which "auto" takes the sparse path
//   SparseReluSaePass(kernels, shape, { kernelPath, densityThreshold })   extends ReluSaePass
//     path                                the path the last forward took (backward follows it)
//     active                              its ActiveSets (valid after a sparse forward)

import type { Kernels, ProviderName } from "../../compute/kernels.js";
import type { SaeShape } from "../params.js";
import { ActiveSets, sparseBackward, sparseDecode } from "./active-sets.js";
import { ReluSaePass, type ReluSaeParams, type SparsityGradient } from "./relu-sae.js";

export const KERNEL_PATHS = ["auto", "dense", "sparse"] as const;
export type KernelPath = (typeof KERNEL_PATHS)[number];
export type ChosenKernelPath = Exclude<KernelPath, "auto">;

/**
 * Break-even active fractions on the 2-core development machine (d_in 512, d_sae 4096; the ratio of the two paths'
 * costs depends on the fraction, hardly on the shape): the dense path runs four B·d_in·d_sae products on the
 * provider's sgemm, the sparse one ≈ 2048 multiply-adds per active entry in single-threaded TypeScript (~1 GMAC/s)
 * plus the dense encoder, so the faster the sgemm, the sparser f must be before sparse pays. Measured as CPU time
 * of one forward + backward at B 1024 with one thread (a training run held the machine): native 0.018, onnx 0.0185,
 * wasm 0.045; native and onnx run two threads by default, so their values are divided by their two-thread sgemm
 * speed-up (compute benchmark: native 1.9×, onnx 1.5×). `npm run bench -- sae` measures it on an idle machine.
 * The reference provider's sgemm is slower than the sparse loops at any density.
 */
export const SPARSE_BREAK_EVEN: Readonly<Record<ProviderName, number>> = {
  native: 0.01,
  onnx: 0.012,
  wasm: 0.045,
  reference: 1,
};

export interface KernelPathOptions {
  kernelPath: KernelPath;
  /** "auto" takes the sparse path when nnz/(B·d_sae) ≤ this. */
  densityThreshold: number;
}

export class SparseReluSaePass extends ReluSaePass {
  readonly active: ActiveSets;
  path: ChosenKernelPath = "dense";

  constructor(
    kernels: Kernels,
    shape: SaeShape,
    readonly options: KernelPathOptions,
  ) {
    super(kernels, shape);
    if (!(options.densityThreshold >= 0 && options.densityThreshold <= 1)) {
      throw new RangeError(`SparseReluSaePass: densityThreshold = ${options.densityThreshold}, expected a fraction in [0, 1]`);
    }
    this.active = new ActiveSets(shape.dSae);
  }

  /** Dense encoder; then the decoder over the active sets when the path is (or "auto" finds f) sparse. */
  override forward(params: ReluSaeParams, x: Float32Array, batchSize: number): void {
    this.encodeForward(params, x, batchSize);
    this.path = this.choosePath();
    if (this.path === "dense") {
      this.decodeForward(params);
      return;
    }
    sparseDecode(this.active, params.W_dec, this.shape.dIn, params.b_dec, this.reconstruction);
  }

  /** "sparse" gathers every active entry; "auto" gives up (dense) once more than the threshold's share is found. */
  private choosePath(): ChosenKernelPath {
    const { kernelPath, densityThreshold } = this.options;
    if (kernelPath === "dense") return "dense";
    const maxActive = kernelPath === "sparse" ? Number.POSITIVE_INFINITY : Math.floor(densityThreshold * this.batchSize * this.shape.dSae);
    return this.active.gather(this.features, this.batchSize, maxActive) ? "sparse" : "dense";
  }

  /**
   * The path of the last forward. Sparse: spec §7 over the active entries; db_dec = Σ_b g_b − W_enc·db_enc as the
   * dense path. featureGrad is read (sparsity.featureGradFilled) but, unlike the dense path, not overwritten with ∂L/∂z.
   */
  override backward(params: ReluSaeParams, grads: ReluSaeParams, sparsity: SparsityGradient): void {
    if (this.path === "dense") {
      super.backward(params, grads, sparsity);
      return;
    }
    const { dIn, dSae } = this.shape;
    const k = this.kernels;
    this.active.indexByFeature();
    sparseBackward(
      {
        sets: this.active,
        dIn,
        outputGrad: this.reconstructionGrad,
        encoderInput: this.centered,
        W_dec: params.W_dec,
        featureGrad: sparsity.featureGradFilled ? this.featureGrad : null,
        l1PerRow: sparsity.l1PerRow,
      },
      grads,
      false,
    );
    k.columnSums(this.reconstructionGrad, grads.b_dec);
    k.sgemm(false, false, dIn, 1, dSae, -1, params.W_enc, grads.b_enc, 1, grads.b_dec);
  }
}
