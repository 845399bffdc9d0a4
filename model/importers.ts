// Importers of foreign GPT checkpoints (spec model.md §5.3): nanoGPT, HF GPT-2, minGPT (Li et al.'s Othello-GPT)
// and TransformerLens state dicts → the native §5.1 tensors and config, plus the inverse writers. One file per
// layout under importers/; this file dispatches and reads checkpoint files. PyTorch `.pt` files are not read:
// convert them to safetensors first (safetensors.torch.save_file).

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { parametersFromTensors } from "./checkpoint.js";
import type { GptConfig } from "./config.js";
import type { Gpt } from "./gpt.js";
import { exportHfGpt2, importHfGpt2 } from "./importers/hf-gpt2.js";
import { exportMinGpt, importMinGpt } from "./importers/mingpt.js";
import { exportNanoGpt, importNanoGpt } from "./importers/nanogpt.js";
import { ImportError, type ExportedState, type ImportedState, type ImportOptions, type ImportScheme } from "./importers/source.js";
import { exportTransformerLens, importTransformerLens } from "./importers/transformer-lens.js";
import { decodeSafetensors, type SafetensorsTensor } from "./safetensors.js";

export { ExportError, IMPORT_SCHEMES, ImportError } from "./importers/source.js";
export type { ExportedState, ImportedState, ImportOptions, ImportScheme } from "./importers/source.js";

type Layout = {
  read: (tensors: ReadonlyMap<string, SafetensorsTensor>, options: ImportOptions, file: string) => ImportedState;
  write: (config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>) => ExportedState;
};

const LAYOUTS: Record<ImportScheme, Layout> = {
  nanogpt: { read: importNanoGpt, write: exportNanoGpt },
  "hf-gpt2": { read: importHfGpt2, write: exportHfGpt2 },
  mingpt: { read: importMinGpt, write: exportMinGpt },
  "transformer-lens": { read: importTransformerLens, write: exportTransformerLens },
};

function layout(scheme: ImportScheme): Layout {
  const found = Object.hasOwn(LAYOUTS, scheme) ? LAYOUTS[scheme] : undefined;
  if (!found) throw new Error(`unknown import scheme ${JSON.stringify(scheme)}; known: ${Object.keys(LAYOUTS).join(", ")}`);
  return found;
}

/**
 * A foreign state dict as the native config and §5.1 tensors (F32). Unknown keys, missing keys and wrong shapes
 * are ImportErrors naming the tensor (and both shapes).
 */
export function importState(scheme: ImportScheme, tensors: ReadonlyMap<string, SafetensorsTensor>, options: ImportOptions = {}): ImportedState {
  return layout(scheme).read(tensors, options, options.source?.file ?? "<tensors>");
}

/**
 * The inverse map: a model's §5.1 tensors (e.g. gptStateDict) in the foreign layout, with the foreign config
 * (nanoGPT model_args, HF config.json, minGPT GPTConfig kwargs, TransformerLens cfg). ExportError when the layout
 * cannot represent the model (e.g. gelu_new for nanoGPT).
 */
export function exportState(scheme: ImportScheme, tensors: ReadonlyMap<string, SafetensorsTensor>, config: GptConfig): ExportedState {
  return layout(scheme).write(config, tensors);
}

/** The foreign config file that sits next to a checkpoint, by scheme. */
const SIBLING_CONFIG: Partial<Record<ImportScheme, { file: string; option: "modelArgs" | "hfConfig" }>> = {
  nanogpt: { file: "model_args.json", option: "modelArgs" },
  "hf-gpt2": { file: "config.json", option: "hfConfig" },
};

/**
 * Reads a foreign `.safetensors` checkpoint into a model on `tf`, with config.source set to the file and its
 * sha256. nanoGPT's model_args and HF's config.json come from the options or from `model_args.json` /
 * `config.json` next to the file. Save the result with saveGpt.
 */
export async function importCheckpoint(
  tf: typeof tfTypes,
  scheme: ImportScheme,
  file: string,
  options: ImportOptions = {},
): Promise<{ model: Gpt; sha256: string }> {
  layout(scheme);
  const bytes = await readFile(file);
  if (bytes.subarray(0, 4).equals(Buffer.from("PK\x03\x04", "latin1"))) {
    throw new ImportError(scheme, file, "format", "is a PyTorch zip (.pt) file, which is not read: convert it with safetensors.torch.save_file");
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const { tensors } = decodeSafetensors(bytes, { label: file, widenHalf: true });
  const resolved: ImportOptions = { ...options, source: { file, sha256 } };
  const sibling = SIBLING_CONFIG[scheme];
  if (sibling && resolved[sibling.option] === undefined) resolved[sibling.option] = await readSiblingJson(scheme, file, sibling.file);
  const { config, tensors: native } = importState(scheme, tensors, resolved);
  return { model: { tf, config, params: parametersFromTensors(tf, config, native, file) }, sha256 };
}

async function readSiblingJson(scheme: ImportScheme, file: string, name: string): Promise<Record<string, unknown>> {
  const sibling = path.join(path.dirname(file), name);
  let text: string;
  try {
    text = await readFile(sibling, "utf8");
  } catch (error) {
    throw new ImportError(scheme, file, name, `not given in the options and not readable next to the file (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ImportError(scheme, sibling, name, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ImportError(scheme, sibling, name, "must be a JSON object");
  return value as Record<string, unknown>;
}
