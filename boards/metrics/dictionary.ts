// What board metrics score (spec board-metrics.md §1, §9): a dictionary turns a hook's activations into feature
// activations — a saved SAE (its inference encode) or the identity "SAE" over a block's MLP neurons.

import path from "node:path";
import type { Kernels } from "../../compute/kernels.js";
import { MODEL_WEIGHTS_FILE } from "../../model/checkpoint.js";
import type { GptConfig } from "../../model/config.js";
import { hookNames } from "../../model/gpt.js";
import { cacheRowWidth } from "../../data/activation-cache.js";
import { fileSha256 } from "../../io/file-hash.js";
import { readSaeDirectory, type SaeDirectory } from "../../sae/files.js";
import { createSae } from "../../sae/params.js";

export interface Dictionary {
  /** Shown in reports: the SAE directory, or "mlp-neurons:blocks.L.mlp.hook_post". */
  name: string;
  kind: "sae" | "mlp-neurons";
  /** The hook whose activations it reads. */
  hook: string;
  nFeatures: number;
  /** Trainer of an SAE (standard, p_anneal, ...), "identity" for neurons. */
  trainer: string;
  /** Feature activations [rows, nFeatures] of hook activations x [rows, d]. */
  encode(x: Float32Array, rows: number): Float32Array;
}

/** A dictionary that does not belong to the model or games it is evaluated with; names both sides. */
export class DictionaryMismatchError extends Error {
  constructor(readonly dictionary: string, detail: string) {
    super(`${dictionary}: ${detail}`);
    this.name = "DictionaryMismatchError";
  }
}

/** SHA-256 of a model checkpoint's weights file (the identity an SAE records in metadata.sae_circuits.model_sha256). */
export async function modelWeightsSha256(modelDir: string): Promise<string> {
  return fileSha256(path.join(modelDir, MODEL_WEIGHTS_FILE));
}

export interface ModelIdentity {
  dir: string;
  config: GptConfig;
  sha256: string;
}

/** Refuses an SAE trained on another model or hook (spec §1): model name, weights hash, hook and width are checked. */
export function checkSaeSite(saeDir: string, saved: SaeDirectory, model: ModelIdentity): void {
  const { site, spec } = saved;
  const modelName = model.config.model_name;
  if (site.modelName !== "" && site.modelName !== modelName) {
    throw new DictionaryMismatchError(saeDir, `the SAE was trained on model "${site.modelName}", the evaluation model ${model.dir} is "${modelName}"`);
  }
  if (site.modelSha256 !== undefined && site.modelSha256 !== model.sha256) {
    throw new DictionaryMismatchError(
      saeDir,
      `the SAE was trained on model "${site.modelName}" with weights sha256 ${site.modelSha256.slice(0, 12)}…, ` +
        `the evaluation model ${model.dir} ("${modelName}") has ${model.sha256.slice(0, 12)}…`,
    );
  }
  if (!hookNames(model.config).includes(site.hookName)) {
    throw new DictionaryMismatchError(saeDir, `the SAE reads hook "${site.hookName}", which model ${model.dir} ("${modelName}") does not have`);
  }
  const width = cacheRowWidth(model.config, site.hookName);
  if (width !== spec.dIn) {
    throw new DictionaryMismatchError(saeDir, `the SAE's d_in is ${spec.dIn}, hook "${site.hookName}" of model ${model.dir} has width ${width}`);
  }
}

/** A saved SAE as a dictionary (its inference encode: TopK with top-k, BatchTopK/JumpReLU with θ, spec §1). */
export async function saeDictionary(dir: string, model: ModelIdentity, kernels: Kernels): Promise<Dictionary> {
  const saved = await readSaeDirectory(dir);
  checkSaeSite(dir, saved, model);
  const sae = createSae(kernels, saved.spec, saved.params);
  const relative = path.relative(process.cwd(), dir);
  return {
    name: relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : dir, // short in tables
    kind: "sae",
    hook: saved.site.hookName,
    nFeatures: saved.spec.dSae,
    trainer: saved.trainer,
    encode: (x, rows) => sae.encode(x, rows),
  };
}

/** The MLP block whose hook_post sits in the same block as `hook` (spec §9: the block the SAEs read). */
export function mlpHookFor(hook: string): string {
  const block = /^blocks\.(\d+)\./.exec(hook);
  if (!block) throw new RangeError(`MLP-neuron baseline: hook "${hook}" is not inside a block (blocks.L.…)`);
  return `blocks.${block[1]}.mlp.hook_post`;
}

/** spec §9 identity "SAE": feature f = post-GELU hidden unit f of `blocks.L.mlp.hook_post`. */
export function mlpNeuronDictionary(config: GptConfig, hook: string): Dictionary {
  if (!/^blocks\.\d+\.mlp\.hook_post$/.test(hook) || !hookNames(config).includes(hook)) {
    throw new RangeError(`MLP-neuron baseline: "${hook}" is not an mlp.hook_post of this model (blocks.0..${config.n_layers - 1})`);
  }
  return {
    name: `mlp-neurons:${hook}`,
    kind: "mlp-neurons",
    hook,
    nFeatures: config.d_mlp,
    trainer: "identity",
    encode: (x) => x,
  };
}
