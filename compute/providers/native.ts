// The native provider: the saec_native Node-API addon (native/src/*.c) over the system OpenBLAS. native/install.mjs
// builds it at npm install when OpenBLAS is present; when it is missing or broken, loading throws
// ProviderUnavailableError and compute/select.ts moves on to the next provider.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import {
  checkSgemm,
  KernelShapeError,
  ProviderUnavailableError,
  requireLength,
  rowsOf,
  sameLength,
  type Kernels,
  type ProviderOptions,
} from "../kernels.js";
import { packageRoot } from "../../io/package-root.js";

/** What OpenBLAS reports about itself (openblas_get_config and friends). */
export interface BlasInfo {
  config: string;
  core: string;
  parallel: "sequential" | "pthreads" | "openmp" | "unknown";
  processors: number;
}

/** The addon's exports (native/src/addon.c); shapes are re-checked in C, but the JS checks come first. */
export interface NativeAddon {
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    b: Float32Array,
    beta: number,
    c: Float32Array,
  ): void;
  biasAdd(x: Float32Array, bias: Float32Array, out: Float32Array, relu: boolean): void;
  reluBackward(grad: Float32Array, pre: Float32Array, l1: number, out: Float32Array): void;
  scaledDifference(a: Float32Array, b: Float32Array, scale: number, out: Float32Array): number;
  columnSums(x: Float32Array, out: Float32Array): void;
  sumSquares(x: Float32Array): number;
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;
  projectOutParallel(grad: Float32Array, w: Float32Array, cols: number, eps: number): void;
  normalizeRows(w: Float32Array, cols: number, eps: number): void;
  adam(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
    weightDecay: number,
  ): void;
  gelu(x: Float32Array, out: Float32Array, tanhForm: boolean): void;
  geluBackward(x: Float32Array, grad: Float32Array, out: Float32Array, tanhForm: boolean): void;
  setThreads(threads: number): void;
  getThreads(): number;
  blasInfo(): BlasInfo;
}

/** Kernels backed by the addon, with what OpenBLAS says about itself. */
export interface NativeKernels extends Kernels {
  readonly blas: BlasInfo;
}

/** Where native/install.mjs leaves the built addon. */
export function nativeAddonPath(): string {
  return path.join(packageRoot(), "native", "build", "Release", "saec_native.node");
}

let addon: NativeAddon | undefined;

/** Loads the addon once per process; throws ProviderUnavailableError when it is not built or does not load. */
export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const file = nativeAddonPath();
  if (!existsSync(file)) {
    const why = "needs OpenBLAS at npm install; see native/install.mjs";
    throw new ProviderUnavailableError("native", `${file} is not built (${why})`);
  }
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (error) {
    throw new ProviderUnavailableError("native", `${file} failed to load: ${(error as Error).message}`);
  }
  return addon;
}

// Same contract as reference.ts's length check: every array has the first one's length.

/**
 * The native kernels. OpenBLAS's thread count is process-wide, so the last load's `threads` wins for every
 * NativeKernels object in the process.
 */
export async function loadNativeKernels(options: ProviderOptions): Promise<NativeKernels> {
  const native = loadNativeAddon();
  const requested = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(requested) || requested < 1) {
    throw new RangeError(`native provider: threads = ${requested}, expected a positive integer`);
  }
  native.setThreads(requested);
  return {
    name: "native",
    threads: native.getThreads(),
    blas: native.blasInfo(),

    sgemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
      checkSgemm(transA, transB, m, n, k, a, b, c);
      native.sgemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    },

    biasAdd(x, bias, out, relu) {
      const rows = rowsOf("biasAdd", "x", x, bias.length);
      requireLength("biasAdd", "out", out, rows * bias.length);
      native.biasAdd(x, bias, out, relu);
    },

    reluBackward(grad, pre, l1, out) {
      sameLength("reluBackward", ["grad", "pre", "out"], [grad, pre, out]);
      native.reluBackward(grad, pre, l1, out);
    },

    scaledDifference(a, b, scale, out) {
      sameLength("scaledDifference", ["a", "b", "out"], [a, b, out]);
      return native.scaledDifference(a, b, scale, out);
    },

    columnSums(x, out) {
      rowsOf("columnSums", "x", x, out.length);
      native.columnSums(x, out);
    },

    sumSquares(x) {
      return native.sumSquares(x);
    },

    axpy(alpha, x, y) {
      sameLength("axpy", ["x", "y"], [x, y]);
      native.axpy(alpha, x, y);
    },

    projectOutParallel(grad, w, cols, eps) {
      sameLength("projectOutParallel", ["grad", "w"], [grad, w]);
      rowsOf("projectOutParallel", "w", w, cols);
      native.projectOutParallel(grad, w, cols, eps);
    },

    normalizeRows(w, cols, eps) {
      rowsOf("normalizeRows", "w", w, cols);
      native.normalizeRows(w, cols, eps);
    },

    adam(param, grad, m, v, { lr, beta1, beta2, eps, step, weightDecay }) {
      sameLength("adam", ["param", "grad", "m", "v"], [param, grad, m, v]);
      if (!(step >= 1)) throw new KernelShapeError("adam", `step = ${step}, must be ≥ 1`);
      native.adam(param, grad, m, v, lr, beta1, beta2, eps, step, weightDecay);
    },

    gelu(x, out, kind) {
      sameLength("gelu", ["x", "out"], [x, out]);
      native.gelu(x, out, kind !== "gelu");
    },

    geluBackward(x, grad, out, kind) {
      sameLength("geluBackward", ["x", "grad", "out"], [x, grad, out]);
      native.geluBackward(x, grad, out, kind !== "gelu");
    },
  };
}
