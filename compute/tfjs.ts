// TensorFlow.js for autodiff, set up in three separate steps:
//   1. backend choice: tensorflow (when @tensorflow/tfjs-node or -gpu is installed) → wasm (SIMD, no threads) → cpu;
//   2. gradient registration: BatchMatMul's backward pass with explicit transposes (tfjs-matmul-gradient.ts);
//   3. kernel routing: on wasm and cpu, the forward BatchMatMul/_FusedMatMul run on a compute provider's sgemm
//      (tfjs-matmul-kernel.ts), and GELU and leading-axis sums on its kernels (tfjs-fused-kernels.ts); the tensorflow
//      backend keeps its own kernels.
// `@tensorflow/tfjs` is imported rather than tfjs-core: under Node ESM tfjs-core alone registers no gradients.

import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Kernels, ProviderName } from "./kernels.js";
import { kernels as selectedKernels } from "./select.js";
import { restoreStockFusedKernels, routeFusedKernels } from "./tfjs-fused-kernels.js";
import { registerMatMulGradient } from "./tfjs-matmul-gradient.js";
import { restoreStockMatMulKernels, routeMatMulKernels, type RoutableBackend } from "./tfjs-matmul-kernel.js";

export const TFJS_BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
export type TfjsBackendName = (typeof TFJS_BACKENDS)[number];

export interface TfjsOptions {
  /** Use exactly this backend; failing to initialise it is an error. Default: the first that works, in order. */
  backend?: TfjsBackendName;
  /** The provider whose sgemm runs tfjs's matmuls on wasm/cpu. Default: compute/select.ts `kernels()`. */
  kernels?: Kernels;
  /** Route matmuls, GELU and leading-axis sums to the provider on wasm/cpu (default true); false puts the stock kernels back. */
  routeMatMul?: boolean;
}

export interface TfjsRuntime {
  tf: typeof tf;
  backend: TfjsBackendName;
  /** The provider tfjs's matmuls run on, or null when the backend's own kernel runs them. */
  matmulProvider: ProviderName | null;
  /** One line saying where matmuls run and why. */
  matmulRouting: string;
  /** Backends tried before the chosen one, with why each was passed over. */
  skipped: { backend: TfjsBackendName; reason: string }[];
}

/** A tfjs backend that cannot run here, with the reason. */
export class TfjsBackendUnavailableError extends Error {
  constructor(
    readonly backend: TfjsBackendName,
    readonly reason: string,
  ) {
    super(`tfjs backend "${backend}" is unavailable: ${reason}`);
    this.name = "TfjsBackendUnavailableError";
  }
}

const require = createRequire(import.meta.url);
const TFJS_NODE_PACKAGES = ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"] as const;

// ── 1. Backend choice ────────────────────────────────────────────────────────────────────────────────────────────

/** The installed tfjs-node package, found by resolving it (never by importing it and catching the crash). */
export function resolveTfjsNode(): string | undefined {
  for (const name of TFJS_NODE_PACKAGES) {
    try {
      require.resolve(name);
      return name;
    } catch {
      // not installed; try the next
    }
  }
  return undefined;
}

async function activate(backend: TfjsBackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(backend);
  } catch (error) {
    throw new TfjsBackendUnavailableError(backend, `initialisation failed: ${(error as Error)?.message ?? error}`);
  }
  if (!ok) throw new TfjsBackendUnavailableError(backend, "tf.setBackend returned false");
}

const initialisers: Record<TfjsBackendName, () => Promise<void>> = {
  async tensorflow() {
    const name = resolveTfjsNode();
    if (!name) {
      throw new TfjsBackendUnavailableError("tensorflow", `neither ${TFJS_NODE_PACKAGES.join(" nor ")} is installed`);
    }
    try {
      await import(name); // registers the "tensorflow" backend
    } catch (error) {
      throw new TfjsBackendUnavailableError("tensorflow", `${name} is installed but failed to load: ${(error as Error).message}`);
    }
    await activate("tensorflow");
  },

  async wasm() {
    if (tf.findBackendFactory("wasm") == null) {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      // The .wasm binaries sit next to the package's node entry point; Node has no threads for tfjs-wasm, so the
      // non-threaded SIMD build loads.
      wasm.setWasmPaths(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + path.sep);
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    }
    await activate("wasm");
  },

  async cpu() {
    await activate("cpu");
  },
};

async function chooseBackend(requested: TfjsBackendName | undefined): Promise<Pick<TfjsRuntime, "backend" | "skipped">> {
  if (requested) {
    if (!TFJS_BACKENDS.includes(requested)) {
      throw new Error(`initTfjs: backend "${requested}" is not one of ${TFJS_BACKENDS.join(", ")}`);
    }
    await initialisers[requested]();
    return { backend: requested, skipped: [] };
  }
  const skipped: TfjsRuntime["skipped"] = [];
  for (const backend of TFJS_BACKENDS) {
    try {
      await initialisers[backend]();
      return { backend, skipped };
    } catch (error) {
      if (!(error instanceof TfjsBackendUnavailableError)) throw error;
      skipped.push({ backend, reason: error.reason });
    }
  }
  throw new TfjsBackendUnavailableError("cpu", `no tfjs backend could start (${skipped.map((s) => s.reason).join("; ")})`);
}

// ── 2. Gradient registration ─────────────────────────────────────────────────────────────────────────────────────

let gradientRegistered = false;

function registerGradients(): void {
  if (gradientRegistered) return;
  registerMatMulGradient(tf);
  gradientRegistered = true;
}

// ── 3. Kernel routing ────────────────────────────────────────────────────────────────────────────────────────────

const routedTo = new Map<RoutableBackend, Kernels>();

async function routeMatMul(
  backend: TfjsBackendName,
  options: TfjsOptions,
): Promise<Pick<TfjsRuntime, "matmulProvider" | "matmulRouting">> {
  if (backend === "tensorflow") {
    return { matmulProvider: null, matmulRouting: "tensorflow backend: its own BLAS runs matmuls" };
  }
  const unroute = (why: string) => {
    restoreStockMatMulKernels(tf, backend);
    restoreStockFusedKernels(tf, backend);
    routedTo.delete(backend);
    return { matmulProvider: null, matmulRouting: `${backend} backend's stock matmul kernels: ${why}` };
  };
  if (options.routeMatMul === false) return unroute("routeMatMul is false");
  const provider = options.kernels ?? (await selectedKernels()).kernels;
  // The reference sgemm is a plain triple loop, slower than tfjs's own kernels; route to it only when asked to.
  if (!options.kernels && provider.name === "reference") return unroute("only the reference provider loaded");
  if (routedTo.get(backend) !== provider) {
    routeMatMulKernels(tf, backend, provider);
    routeFusedKernels(tf, backend, provider);
    routedTo.set(backend, provider);
  }
  return {
    matmulProvider: provider.name,
    matmulRouting: `${backend} backend: BatchMatMul and _FusedMatMul run on the ${provider.name} provider's sgemm`,
  };
}

// ── Entry point ──────────────────────────────────────────────────────────────────────────────────────────────────

let previous: Promise<unknown> = Promise.resolve();
let current: TfjsRuntime | undefined;

/** What the last successful initTfjs call chose, or undefined before one has finished. */
export function currentTfjsRuntime(): TfjsRuntime | undefined {
  return current;
}

/**
 * Chooses and activates a tfjs backend, registers the matmul gradient and routes matmuls to a provider.
 * Safe to call repeatedly (calls run one after another); each call may switch backend or provider.
 */
export function initTfjs(options: TfjsOptions = {}): Promise<TfjsRuntime> {
  const run = async (): Promise<TfjsRuntime> => {
    const { backend, skipped } = await chooseBackend(options.backend);
    registerGradients();
    const routing = await routeMatMul(backend, options);
    current = { tf, backend, skipped, ...routing };
    return current;
  };
  const result = previous.then(run, run);
  previous = result.catch(() => undefined);
  return result;
}
