// Synchronous access to onnxruntime-node's CPU sessions. The public InferenceSession.run is async, but the
// kernel interface is synchronous, so this drives the package's internal binding (dist/binding.js) directly.

import { createRequire } from "node:module";
import type { Tensor as OrtTensor } from "onnxruntime-node";

const require = createRequire(import.meta.url);

type Feeds = Record<string, OrtTensor>;
type Fetches = Record<string, OrtTensor | null>;

/** The binding's synchronous session (onnxruntime-node dist/binding.d.ts). */
interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Feeds, fetches: Fetches, options: object): Record<string, OrtTensor>;
  dispose(): void;
}

interface OrtRuntime {
  /** A tensor over the caller's array (no copy). */
  float32(data: Float32Array, dims: readonly number[]): OrtTensor;
  createSession(model: Uint8Array, threads: number): OrtSession;
  /** The onnxruntime-node version, for reports. */
  version: string;
}

/** A loaded model; run() blocks until ORT returns. A fetch given as a tensor is written in place. */
export interface OrtSession {
  run(feeds: Feeds, fetches: Fetches): Record<string, OrtTensor>;
  dispose(): void;
}

const LOG_LEVEL_ERROR = 3; // ORT severity: 0 verbose … 3 error, 4 fatal

let runtime: OrtRuntime | undefined;

/** Loads onnxruntime-node and its native binary once; throws what require() throws when either is missing. */
export function loadOrtRuntime(): OrtRuntime {
  if (runtime) return runtime;
  const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");
  ort.env.logLevel = "error"; // read by initOrt(): keeps ORT's warnings off the console
  const { binding, initOrt } = require("onnxruntime-node/dist/binding.js") as {
    binding: { InferenceSession: new () => BindingSession };
    initOrt(): void;
  };
  initOrt();
  runtime = {
    float32: (data, dims) => new ort.Tensor("float32", data, dims),
    version: ort.env.versions.node ?? "unknown",
    createSession(model, threads) {
      const session = new binding.InferenceSession();
      session.loadModel(model.buffer, model.byteOffset, model.byteLength, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        executionProviders: ["cpu"],
        logSeverityLevel: LOG_LEVEL_ERROR,
        // Each session has its own pool; idle workers that spin would steal the cores the next session runs on.
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      return {
        run: (feeds, fetches) => session.run(feeds, fetches, { logSeverityLevel: LOG_LEVEL_ERROR }),
        dispose: () => session.dispose(),
      };
    },
  };
  return runtime;
}
