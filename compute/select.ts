// Provider auto-detection: native (OpenBLAS addon) → onnx (onnxruntime-node CPU) → wasm → reference.
// SAEC_COMPUTE=<name> forces one provider (an error if it cannot load); SAEC_COMPUTE_DISABLE=a,b skips some
// (how tests and users simulate a machine without them).

import os from "node:os";
import {
  PROVIDER_NAMES,
  ProviderUnavailableError,
  type Kernels,
  type ProviderName,
  type ProviderOptions,
} from "./kernels.js";
import { referenceKernels } from "./reference.js";

export type ProviderLoader = (options: ProviderOptions) => Promise<Kernels>;

/** The loaders in detection order. Each throws ProviderUnavailableError when its provider cannot run here. */
export const DEFAULT_LOADERS: ReadonlyArray<readonly [ProviderName, ProviderLoader]> = [
  ["native", async (options) => (await import("./providers/native.js")).loadNativeKernels(options)],
  ["onnx", async (options) => (await import("./providers/onnx.js")).loadOnnxKernels(options)],
  ["wasm", async (options) => (await import("./providers/wasm.js")).loadWasmKernels(options)],
  ["reference", async () => referenceKernels],
];

export interface SelectOptions extends ProviderOptions {
  /** Use exactly this provider; failing to load it is an error. */
  force?: ProviderName;
  /** Providers to skip. */
  disabled?: readonly ProviderName[];
  /** Loaders to try, in order (tests replace some to simulate absence). */
  loaders?: ReadonlyArray<readonly [ProviderName, ProviderLoader]>;
}

export interface Selection {
  kernels: Kernels;
  /** Every provider tried before the chosen one, with why it was passed over. */
  skipped: { provider: ProviderName; reason: string }[];
}

export class UnknownProviderError extends Error {
  constructor(source: string, value: string) {
    super(`${source}: unknown compute provider "${value}" (expected one of ${PROVIDER_NAMES.join(", ")})`);
    this.name = "UnknownProviderError";
  }
}

function parseProvider(source: string, value: string): ProviderName {
  const name = value.trim();
  if (!(PROVIDER_NAMES as readonly string[]).includes(name)) throw new UnknownProviderError(source, name);
  return name as ProviderName;
}

/** Reads SAEC_COMPUTE / SAEC_COMPUTE_DISABLE / SAEC_THREADS into select options. */
export function selectOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SelectOptions {
  const options: SelectOptions = {};
  if (env.SAEC_COMPUTE) options.force = parseProvider("SAEC_COMPUTE", env.SAEC_COMPUTE);
  if (env.SAEC_COMPUTE_DISABLE) {
    options.disabled = env.SAEC_COMPUTE_DISABLE.split(",")
      .filter((part) => part.trim() !== "")
      .map((part) => parseProvider("SAEC_COMPUTE_DISABLE", part));
  }
  if (env.SAEC_THREADS) {
    const threads = Number(env.SAEC_THREADS);
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(`SAEC_THREADS: expected a positive integer, found "${env.SAEC_THREADS}"`);
    }
    options.threads = threads;
  }
  return options;
}

export function defaultThreads(): number {
  return os.availableParallelism();
}

/** Loads the first provider that works here, in detection order. */
export async function selectKernels(options: SelectOptions = {}): Promise<Selection> {
  const loaders = options.loaders ?? DEFAULT_LOADERS;
  const providerOptions: ProviderOptions = { threads: options.threads ?? defaultThreads() };
  const skipped: Selection["skipped"] = [];
  if (options.force) {
    const entry = loaders.find(([name]) => name === options.force);
    if (!entry) throw new ProviderUnavailableError(options.force, "no loader is registered for it");
    return { kernels: await entry[1](providerOptions), skipped };
  }
  for (const [name, load] of loaders) {
    if (options.disabled?.includes(name)) {
      skipped.push({ provider: name, reason: "disabled" });
      continue;
    }
    try {
      return { kernels: await load(providerOptions), skipped };
    } catch (error) {
      if (!(error instanceof ProviderUnavailableError)) throw error;
      skipped.push({ provider: name, reason: error.reason });
    }
  }
  throw new ProviderUnavailableError("reference", "every provider was disabled or failed to load");
}

let shared: Promise<Selection> | undefined;

/** The process-wide kernels, chosen once from the environment. */
export function kernels(): Promise<Selection> {
  shared ??= selectKernels(selectOptionsFromEnv());
  return shared;
}
