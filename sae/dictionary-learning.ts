// Import of dictionary_learning SAEs (spec sae.md §4 import table): an `ae.pt` state dict exported as safetensors
// under its state-dict names, plus the run's config.json ({ trainer: { dict_class, activation_dim, dict_size, k,
// layer, lm_name, trainer_class, ... }, buffer: { ctx_len, ... } }). Its nn.Linear weights are [out, in], so
// W_enc = encoder.weightᵀ and W_dec = decoder.weightᵀ. Decoder rows that are not unit-norm are folded into the
// encoder (dictionary_learning `normalize_decoder`): f_i scales by ‖W_dec,i‖ and x̂ is unchanged.
//
// Interface:
//   DICT_CLASSES, DictClass
//   importDictionaryLearning(weightsFile, configFile, options?) → ImportedSae (a SavedSae, plus what was done)
//   foldDecoderNorms(architecture, shape, params) → whether any norm was folded

import { readFile } from "node:fs/promises";
import { readSafetensors, type SafetensorsTensor } from "../model/safetensors.js";
import { SaeFileError, type SavedSae, type SaeSite } from "./files.js";
import { checkParams, type Architecture, type SaeParams, type SaeShape, type SaeSpec } from "./params.js";

export const DICT_CLASSES = ["AutoEncoder", "GatedAutoEncoder", "AutoEncoderTopK", "BatchTopKSAE", "JumpReluAutoEncoder"] as const;
export type DictClass = (typeof DICT_CLASSES)[number];

/** dictionary_learning trainer classes → our trainer names (metadata.sae_circuits.trainer). */
const TRAINER_CLASSES: Record<string, string> = {
  StandardTrainer: "standard", StandardTrainerAprilUpdate: "standard", PAnnealTrainer: "p_anneal",
  GatedSAETrainer: "gated", GatedAnnealTrainer: "gated_anneal", TopKTrainer: "topk", TrainerTopK: "topk",
  BatchTopKTrainer: "batch_topk", TrainerBatchTopK: "batch_topk", JumpReluTrainer: "jumprelu",
};
const DEFAULT_TRAINER: Record<DictClass, string> = {
  AutoEncoder: "standard", GatedAutoEncoder: "gated", AutoEncoderTopK: "topk", BatchTopKSAE: "batch_topk", JumpReluAutoEncoder: "jumprelu",
};

export interface ImportOptions {
  /** Default blocks.<layer>.hook_resid_post from config.json trainer.layer (the BoardGameEval site). */
  hookName?: string;
  /** Default config.json trainer.lm_name. */
  modelName?: string;
  /** Default config.json buffer.ctx_len. */
  contextSize?: number;
  /** Default "" (dictionary_learning does not record it). */
  datasetPath?: string;
}

export interface ImportedSae extends SavedSae {
  dictClass: DictClass;
  /** Decoder norms were folded into the encoder. */
  foldedDecoderNorms: boolean;
}

/** |n − 1| ≤ 1e-8 + 1e-5 (torch.allclose defaults, as normalize_decoder tests). */
function isUnitNorm(norm: number): boolean {
  return Math.abs(norm - 1) <= 1e-8 + 1e-5;
}

/**
 * dictionary_learning normalize_decoder: W_dec row i ÷ n_i, W_enc column i × n_i and every per-feature encoder
 * offset × n_i (b_enc; b_gate, b_mag; threshold), so f_i × n_i and x̂ stay as they were. Exact for ReLU, gated and
 * JumpReLU; TopK's selection would change, so a TopK SAE with non-unit rows is refused. Returns whether it folded.
 */
export function foldDecoderNorms(architecture: Architecture, { dIn, dSae }: SaeShape, params: SaeParams, label: string): boolean {
  const norms = new Float64Array(dSae);
  for (let i = 0; i < dSae; i++) {
    let sum = 0;
    for (let j = 0; j < dIn; j++) sum += params.W_dec[i * dIn + j] ** 2;
    norms[i] = Math.sqrt(sum);
  }
  if (norms.every(isUnitNorm)) return false;
  const worst = norms.findIndex((norm) => !isUnitNorm(norm));
  if (architecture === "topk") {
    throw new SaeFileError(label, `decoder row ${worst} has norm ${norms[worst]}; folding non-unit decoder norms would change a TopK SAE's top-k selection`);
  }
  if (norms[worst] === 0) throw new SaeFileError(label, `decoder row ${worst} is zero; its norm cannot be folded into the encoder`);
  for (let i = 0; i < dSae; i++) {
    const n = norms[i];
    for (let j = 0; j < dIn; j++) {
      params.W_dec[i * dIn + j] /= n;
      params.W_enc[j * dSae + i] *= n;
    }
    for (const offset of [params.b_enc, params.b_gate, params.b_mag, params.threshold]) if (offset) offset[i] *= n;
  }
  return true;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

interface ForeignConfig {
  trainer?: { dict_class?: unknown; trainer_class?: unknown; activation_dim?: unknown; dict_size?: unknown; k?: unknown; layer?: unknown; lm_name?: unknown };
  buffer?: { ctx_len?: unknown };
}

const positiveInteger = (value: unknown): value is number => Number.isInteger(value) && (value as number) > 0;

/** Reads a dictionary_learning SAE (safetensors state dict + config.json) into our parameters and spec. */
export async function importDictionaryLearning(weightsFile: string, configFile: string, options: ImportOptions = {}): Promise<ImportedSae> {
  let config: ForeignConfig;
  try {
    config = JSON.parse(await readFile(configFile, "utf8")) as ForeignConfig;
  } catch (error) {
    throw new SaeFileError(configFile, `cannot be read as JSON (${(error as Error).message})`);
  }
  const trainer = config.trainer ?? {};
  const dictClass = trainer.dict_class as DictClass;
  if (!DICT_CLASSES.includes(dictClass)) throw new SaeFileError(configFile, `trainer.dict_class is ${JSON.stringify(trainer.dict_class)}, expected one of ${DICT_CLASSES.join(", ")}`);
  for (const field of ["activation_dim", "dict_size"] as const) {
    if (!positiveInteger(trainer[field])) throw new SaeFileError(configFile, `trainer.${field} is ${JSON.stringify(trainer[field])}, expected a positive integer`);
  }
  const dIn = trainer.activation_dim as number;
  const dSae = trainer.dict_size as number;

  const file = await readSafetensors(weightsFile);
  const used = new Set<string>();
  /** A float tensor of the state dict with the shape dictionary_learning gives it. */
  const tensor = (name: string, shape: number[]): Float32Array => {
    const found: SafetensorsTensor | undefined = file.tensors.get(name);
    if (found === undefined) throw new SaeFileError(weightsFile, `tensor ${name} [${shape.join(", ")}] is missing (dict_class ${dictClass})`);
    if (found.shape.length !== shape.length || found.shape.some((size, i) => size !== shape[i])) {
      throw new SaeFileError(weightsFile, `tensor ${name} has shape [${found.shape.join(", ")}], expected [${shape.join(", ")}] (activation_dim ${dIn}, dict_size ${dSae} in ${configFile})`);
    }
    used.add(name);
    if (found.data instanceof Float32Array) return found.data.slice();
    if (found.data instanceof Float64Array) return Float32Array.from(found.data);
    throw new SaeFileError(weightsFile, `tensor ${name} is ${found.dtype}, expected F32 or F64`);
  };
  /** A scalar buffer (k, threshold) of any numeric dtype, or undefined when absent. */
  const scalar = (name: string): number | undefined => {
    const found = file.tensors.get(name);
    if (found === undefined) return undefined;
    if (found.shape.length !== 0 && !(found.shape.length === 1 && found.shape[0] === 1)) {
      throw new SaeFileError(weightsFile, `tensor ${name} has shape [${found.shape.join(", ")}], expected a scalar []`);
    }
    used.add(name);
    return Number(found.data[0]);
  };

  let architecture: Architecture;
  let params: SaeParams;
  let applyBDecToInput = true;
  let k: number | undefined;
  let threshold: number | undefined;
  const linear = () => ({ W_enc: transpose(tensor("encoder.weight", [dSae, dIn]), dSae, dIn), W_dec: transpose(tensor("decoder.weight", [dIn, dSae]), dIn, dSae) });
  switch (dictClass) {
    case "AutoEncoder":
      architecture = "standard";
      params = { ...linear(), b_enc: tensor("encoder.bias", [dSae]), b_dec: tensor("bias", [dIn]) };
      break;
    case "GatedAutoEncoder":
      architecture = "gated";
      params = {
        ...linear(), b_dec: tensor("decoder_bias", [dIn]), b_gate: tensor("gate_bias", [dSae]), b_mag: tensor("mag_bias", [dSae]), r_mag: tensor("r_mag", [dSae]),
      };
      break;
    case "AutoEncoderTopK":
    case "BatchTopKSAE":
      params = { ...linear(), b_enc: tensor("encoder.bias", [dSae]), b_dec: tensor("b_dec", [dIn]) };
      k = scalar("k") ?? (positiveInteger(trainer.k) ? trainer.k : undefined);
      if (!positiveInteger(k)) throw new SaeFileError(weightsFile, `no k: neither a tensor k nor trainer.k in ${configFile}`);
      threshold = scalar("threshold");
      if (dictClass === "AutoEncoderTopK") {
        architecture = "topk";
      } else {
        // spec §2.6: BatchTopK infers with f = a ⊙ 1[a > θ], a JumpReLU SAE with θ repeated per feature.
        architecture = "jumprelu";
        if (threshold === undefined) throw new SaeFileError(weightsFile, "tensor threshold [] is missing (dict_class BatchTopKSAE)");
        params.threshold = new Float32Array(dSae).fill(threshold);
      }
      break;
    case "JumpReluAutoEncoder":
      architecture = "jumprelu";
      applyBDecToInput = false;
      params = {
        W_enc: tensor("W_enc", [dIn, dSae]), b_enc: tensor("b_enc", [dSae]), W_dec: tensor("W_dec", [dSae, dIn]), b_dec: tensor("b_dec", [dIn]), threshold: tensor("threshold", [dSae]),
      };
      break;
  }
  const unused = [...file.tensors.keys()].filter((name) => !used.has(name));
  if (unused.length > 0) throw new SaeFileError(weightsFile, `tensor(s) ${unused.join(", ")} do not belong to a ${dictClass}`);
  checkParams(architecture, { dIn, dSae }, params, weightsFile);
  const foldedDecoderNorms = foldDecoderNorms(architecture, { dIn, dSae }, params, weightsFile);

  const spec: SaeSpec = { architecture, dIn, dSae, applyBDecToInput };
  if (k !== undefined) spec.k = k;
  if (architecture === "topk" && threshold !== undefined) spec.topkThreshold = threshold;
  let hookName = options.hookName;
  if (hookName === undefined) {
    if (!Number.isInteger(trainer.layer)) throw new SaeFileError(configFile, `trainer.layer is ${JSON.stringify(trainer.layer)}; give the hook name`);
    hookName = `blocks.${trainer.layer as number}.hook_resid_post`;
  }
  const site: SaeSite = {
    modelName: options.modelName ?? (typeof trainer.lm_name === "string" ? trainer.lm_name : ""),
    hookName,
    contextSize: options.contextSize ?? (positiveInteger(config.buffer?.ctx_len) ? config.buffer.ctx_len : 0),
    datasetPath: options.datasetPath ?? "",
  };
  const trainerName = (typeof trainer.trainer_class === "string" ? TRAINER_CLASSES[trainer.trainer_class] : undefined) ?? DEFAULT_TRAINER[dictClass];
  return { spec, params, trainer: trainerName, site, dictClass, foldedDecoderNorms };
}
