// The "onnx" provider: sgemm runs as an in-memory ONNX Gemm graph on onnxruntime-node's multithreaded CPU
// kernels; every other kernel delegates to the wasm provider, which measured faster for these memory-bound loops.

import os from "node:os";
import { checkSgemm, ProviderUnavailableError, type Kernels, type ProviderOptions } from "../kernels.js";
import { gemmModel } from "../onnx/gemm-model.js";
import { loadOrtRuntime, type OrtSession } from "../onnx/ort-binding.js";
import { loadWasmKernels } from "./wasm.js";

/** Gemm sessions kept at once; alpha and beta are graph attributes, so each distinct pair needs its own. */
const GEMM_SESSION_LIMIT = 16;

/**
 * Below this m·n·k, sgemm runs on wasm: ORT's ~15 µs per run costs more than its faster kernel saves
 * (the two meet near 64³ on 2 cores).
 */
export const ONNX_MIN_SGEMM_VOLUME = 64 * 64 * 64;

/** Loads the onnx kernels; throws ProviderUnavailableError when onnxruntime-node or the wasm provider cannot load. */
export async function loadOnnxKernels(options: ProviderOptions = {}): Promise<Kernels> {
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ProviderUnavailableError("onnx", `threads = ${threads} is not a positive integer`);
  }
  let ort: ReturnType<typeof loadOrtRuntime>;
  try {
    ort = loadOrtRuntime();
  } catch (error) {
    throw new ProviderUnavailableError("onnx", `onnxruntime-node does not load: ${String(error)}`);
  }
  let wasm: Kernels;
  try {
    wasm = await loadWasmKernels(options);
  } catch (error) {
    const reason = error instanceof ProviderUnavailableError ? error.reason : String(error);
    throw new ProviderUnavailableError("onnx", `it delegates its elementwise kernels to wasm, which is unavailable: ${reason}`);
  }

  const gemmSessions = new Map<string, OrtSession>(); // insertion order = least recently used first
  function gemmSession(transA: boolean, transB: boolean, alpha: number, beta: number): OrtSession {
    const key = `${+transA}${+transB}:${alpha}:${beta}`;
    let found = gemmSessions.get(key);
    if (found) {
      gemmSessions.delete(key);
    } else {
      found = ort.createSession(gemmModel(transA, transB, alpha, beta), threads);
      if (gemmSessions.size >= GEMM_SESSION_LIMIT) {
        const [oldestKey, oldest] = gemmSessions.entries().next().value as [string, OrtSession];
        gemmSessions.delete(oldestKey);
        oldest.dispose();
      }
    }
    gemmSessions.set(key, found);
    return found;
  }

  // Build the most common session now, so a binary that cannot run fails here, as unavailable.
  try {
    gemmSession(false, false, 1, 0);
  } catch (error) {
    throw new ProviderUnavailableError("onnx", `onnxruntime-node cannot create a session: ${String(error)}`);
  }

  return {
    ...wasm,
    name: "onnx",
    threads,

    sgemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
      if (m * n * k < ONNX_MIN_SGEMM_VOLUME) {
        wasm.sgemm(transA, transB, m, n, k, alpha, a, b, beta, c); // also covers k = 0, which ORT rejects
        return;
      }
      checkSgemm(transA, transB, m, n, k, a, b, c);
      const feeds = {
        A: ort.float32(a.subarray(0, m * k), transA ? [k, m] : [m, k]),
        B: ort.float32(b.subarray(0, k * n), transB ? [n, k] : [k, n]),
      };
      const session = gemmSession(transA, transB, alpha, beta);
      if (beta === 0) {
        session.run(feeds, { Y: ort.float32(c.subarray(0, m * n), [m, n]) }); // ORT writes straight into C
        return;
      }
      // C is both input and output here; ORT's Gemm is not promised to be alias-safe, so copy its result back.
      const { Y } = session.run({ ...feeds, C: ort.float32(c.subarray(0, m * n), [m, n]) }, { Y: null });
      c.set(Y.data as Float32Array);
    },
  };
}
