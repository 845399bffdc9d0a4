// The kernel interface every compute provider implements: plain row-major Float32Arrays in, results written
// into caller-owned outputs. Each kernel has a plain reference implementation (reference.ts) and a test that
// holds every provider equal to it.

export const PROVIDER_NAMES = ["native", "onnx", "wasm", "reference"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Options of one Adam (or AdamW) step, PyTorch semantics (spec sae.md §1.2, model.md §4). */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count, used for bias correction. */
  step: number;
  /** Decoupled weight decay (AdamW): θ ← θ·(1 − lr·wd) before the Adam update. 0 = plain Adam. */
  weightDecay: number;
}

export type GeluKind = "gelu" | "gelu_new";

export interface Kernels {
  readonly name: ProviderName;
  /** Threads the provider's matmul uses. */
  readonly threads: number;

  /**
   * C ← alpha·op(A)·op(B) + beta·C, all row-major and densely packed.
   * op(A) is [m, k] (A is stored [k, m] when transA), op(B) is [k, n] (B is [n, k] when transB), C is [m, n].
   * With beta = 0, C's previous contents are ignored (NaNs included).
   */
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

  /** out[r, j] = x[r, j] + bias[j] (relu: max(0, ·)); x is [rows, bias.length]. out may alias x. */
  biasAdd(x: Float32Array, bias: Float32Array, out: Float32Array, relu: boolean): void;

  /** out[i] = pre[i] > 0 ? grad[i] + l1 : 0 (ReLU backward with an L1 term on active units). out may alias grad. */
  reluBackward(grad: Float32Array, pre: Float32Array, l1: number, out: Float32Array): void;

  /** out[i] = scale·(a[i] − b[i]); returns Σ (a[i] − b[i])² accumulated in float64. out may alias a or b. */
  scaledDifference(a: Float32Array, b: Float32Array, scale: number, out: Float32Array): number;

  /** out[j] = Σ_r x[r, j] accumulated in float64; x is [rows, out.length]. */
  columnSums(x: Float32Array, out: Float32Array): void;

  /** Σ x[i]² accumulated in float64. */
  sumSquares(x: Float32Array): number;

  /** y[i] ← alpha·x[i] + y[i]. */
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;

  /** For each row i of w [rows, cols]: g_i ← g_i − (g_i·ŵ_i)ŵ_i, ŵ_i = w_i/(‖w_i‖ + eps) (sae.md §1.2). */
  projectOutParallel(grad: Float32Array, w: Float32Array, cols: number, eps: number): void;

  /** For each row i of w [rows, cols]: w_i ← w_i/(‖w_i‖ + eps). */
  normalizeRows(w: Float32Array, cols: number, eps: number): void;

  /** One in-place Adam/AdamW step on param with moments m, v (PyTorch semantics). */
  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, opts: AdamStep): void;

  /** out = GELU(x): "gelu" exact erf form, "gelu_new" tanh approximation (model.md §1). */
  gelu(x: Float32Array, out: Float32Array, kind: GeluKind): void;

  /** out = grad · GELU'(x). */
  geluBackward(x: Float32Array, grad: Float32Array, out: Float32Array, kind: GeluKind): void;
}

/** A failure to meet a kernel's shape contract; names the kernel, the argument and the sizes. */
export class KernelShapeError extends Error {
  constructor(kernel: string, detail: string) {
    super(`${kernel}: ${detail}`);
    this.name = "KernelShapeError";
  }
}

/** Checks that an array holds at least `need` elements (every provider calls this before touching memory). */
export function requireLength(kernel: string, arg: string, array: Float32Array, need: number): void {
  if (array.length < need) {
    throw new KernelShapeError(kernel, `${arg} has ${array.length} elements, needs ${need}`);
  }
}

/** Shape checks for sgemm shared by every provider. */
export function checkSgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
): void {
  for (const [arg, value] of [["m", m], ["n", n], ["k", k]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new KernelShapeError("sgemm", `${arg} = ${value} is not a size`);
  }
  requireLength("sgemm", transA ? "A [k, m]" : "A [m, k]", a, m * k);
  requireLength("sgemm", transB ? "B [n, k]" : "B [k, n]", b, k * n);
  requireLength("sgemm", "C [m, n]", c, m * n);
}

/** Checks that every array has the first one's length. */
export function sameLength(kernel: string, names: string[], arrays: Float32Array[]): void {
  for (let i = 1; i < arrays.length; i++) {
    if (arrays[i].length !== arrays[0].length) {
      throw new KernelShapeError(kernel, `${names[i]} has ${arrays[i].length} elements, ${names[0]} has ${arrays[0].length}`);
    }
  }
}

/** Rows of a row-major [rows, cols] array, checking that cols divides its length. */
export function rowsOf(kernel: string, arg: string, x: Float32Array, cols: number): number {
  if (cols <= 0 || x.length % cols !== 0) {
    throw new KernelShapeError(kernel, `${arg} has ${x.length} elements, not a multiple of ${cols} columns`);
  }
  return x.length / cols;
}

/** A provider that cannot load here (missing library, failed build, unsupported platform), with the reason. */
export class ProviderUnavailableError extends Error {
  constructor(
    readonly provider: ProviderName,
    readonly reason: string,
  ) {
    super(`compute provider "${provider}" is unavailable: ${reason}`);
    this.name = "ProviderUnavailableError";
  }
}

/** Options every provider loader accepts. */
export interface ProviderOptions {
  /** Threads for the provider's matmul; default: all available cores. */
  threads?: number;
}
