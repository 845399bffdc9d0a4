// The native checkpoint directory (spec model.md §5.1): `config.json` + `model.safetensors` with TransformerLens
// state-dict names, every tensor F32. Loading checks each tensor is present once with the config's shape.

import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { parseGptConfig, type GptConfig } from "./config.js";
import type { Gpt } from "./gpt.js";
import { parameterSpecs, type GptParameters } from "./init.js";
import { encodeSafetensors, readSafetensors, type SafetensorsTensor } from "./safetensors.js";
import { writeFileAtomic } from "../io/atomic-write.js";

export const MODEL_CONFIG_FILE = "config.json";
export const MODEL_WEIGHTS_FILE = "model.safetensors";

/** A checkpoint whose tensors do not match its config; the message names the file, the tensor and both shapes. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string,
    message: string,
  ) {
    super(`${file}: tensor "${tensor}": ${message}`);
    this.name = "CheckpointError";
  }
}

/** config.json text: two-space JSON with a final newline (its sha256 goes into the weights' metadata). */
export function configText(config: GptConfig): string {
  return JSON.stringify(config, null, 2) + "\n";
}

/** The model's parameters as F32 safetensors tensors, named as spec §5.1 (copies: safe after the model is gone). */
export function gptStateDict(model: Gpt): Map<string, SafetensorsTensor> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, variable] of model.params) {
    tensors.set(name, { dtype: "F32", shape: [...variable.shape], data: new Float32Array(variable.dataSync()) });
  }
  return tensors;
}

/** Bytes of model.safetensors for this model and config text (deterministic: same weights, same bytes). */
export function encodeGptWeights(model: Gpt, config = configText(model.config)): Uint8Array {
  const sha = createHash("sha256").update(config).digest("hex");
  return encodeSafetensors(gptStateDict(model), { format: "pt", producer: "sae-circuits", config_sha256: sha });
}

/**
 * Writes `dir` as a checkpoint directory. The files are written into a sibling temporary directory that then
 * replaces `dir`, so a reader never sees a half-written checkpoint.
 */
export async function saveGpt(model: Gpt, dir: string, extraFiles: Record<string, string | Uint8Array> = {}): Promise<void> {
  const config = configText(model.config);
  const temporary = `${dir}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  await writeFileAtomic(path.join(temporary, MODEL_CONFIG_FILE), config);
  await writeFileAtomic(path.join(temporary, MODEL_WEIGHTS_FILE), encodeGptWeights(model, config));
  for (const [name, data] of Object.entries(extraFiles)) await writeFileAtomic(path.join(temporary, name), data);
  await replaceDirectory(temporary, dir);
}

/** Moves `from` to `to`, replacing whatever `to` held (the old copy is removed only after the rename). */
export async function replaceDirectory(from: string, to: string): Promise<void> {
  const old = `${to}.old-${process.pid}`;
  await rm(old, { recursive: true, force: true });
  await rename(to, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await rename(from, to);
  await rm(old, { recursive: true, force: true });
}

/** Reads and validates `<dir>/config.json`. */
export async function loadGptConfig(dir: string): Promise<GptConfig> {
  const file = path.join(dir, MODEL_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`${file}: cannot read the model config (${(error as Error).message})`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseGptConfig(value, file);
}

/** Loads a checkpoint directory into a model on `tf`. */
export async function loadGpt(tf: typeof tfTypes, dir: string): Promise<Gpt> {
  const config = await loadGptConfig(dir);
  const file = path.join(dir, MODEL_WEIGHTS_FILE);
  const weights = await readSafetensors(file, { widenHalf: true });
  return { tf, config, params: parametersFromTensors(tf, config, weights.tensors, file) };
}

/**
 * Variables for every parameter of `config` from named tensors. A missing, repeated-under-another-name, extra,
 * non-float or mis-shaped tensor is a CheckpointError naming `file` and the tensor (with both shapes).
 */
export function parametersFromTensors(
  tf: typeof tfTypes,
  config: GptConfig,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  file: string,
): GptParameters {
  const specs = parameterSpecs(config);
  const expected = new Set(specs.map((spec) => spec.name));
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new CheckpointError(file, name, `not a parameter of this model (${config.model_name}, ${config.n_layers} layers${config.tied_embeddings ? ", tied" : ""})`);
  }
  const values = new Map<string, Float32Array>();
  for (const spec of specs) {
    const tensor = tensors.get(spec.name);
    if (!tensor) throw new CheckpointError(file, spec.name, `missing (expected shape [${spec.shape.join(", ")}])`);
    if (!sameShape(tensor.shape, spec.shape)) {
      throw new CheckpointError(file, spec.name, `shape [${tensor.shape.join(", ")}] in the checkpoint, [${spec.shape.join(", ")}] in the config`);
    }
    if (!(tensor.data instanceof Float32Array) && !(tensor.data instanceof Float64Array)) {
      throw new CheckpointError(file, spec.name, `dtype ${tensor.dtype} is not a float type`);
    }
    const data = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data);
    if (!spec.trainable && data.some((x) => x !== 0)) {
      throw new CheckpointError(file, spec.name, "is non-zero but the config says use_bias: false");
    }
    values.set(spec.name, data);
  }
  const params: GptParameters = new Map();
  for (const spec of specs) {
    params.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(values.get(spec.name)!, spec.shape, "float32"), spec.trainable)));
  }
  return params;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}
