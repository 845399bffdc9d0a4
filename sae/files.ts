// SAELens-compatible SAE directories (spec sae.md §4): cfg.json (SAELens ≥ 6.0 format, our provenance under
// metadata.sae_circuits), sae_weights.safetensors (F32, SAELens tensor names and shapes), sparsity.safetensors
// (log10 feature density), metrics.json; training.json, log.jsonl and checkpoints/ come from the sweep.
//
// Interface:
//   SAE_CFG_FILE, SAE_WEIGHTS_FILE, SAE_SPARSITY_FILE, SAE_METRICS_FILE, SAE_TRAINING_FILE, SAE_LENS_VERSION
//   SaeSite { modelName, hookName, contextSize, datasetPath }     where the activations came from (cfg metadata)
//   SavedSae { spec, params, trainer, site }                       what a directory holds besides metrics
//   saeCfg(saved) → SaeCfg                                         the cfg.json object, fields in SAELens order
//   writeSaeDirectory(dir, saved, extras?)                         cfg, weights, and sparsity/metrics/training when given
//   writeSparsity(dir, dSae, logDensity), logFeatureDensity(density)
//   readSaeDirectory(dir) → SaeDirectory { ...SavedSae, cfg, logDensity }
//   SaeFileError                                                   names the file, the field or tensor, and both shapes
//
// TopK keeps `k` and its inference threshold θ on the spec (cfg k, metadata topk_threshold once θ ≥ 0); BatchTopK is
// saved as a JumpReLU SAE with θ repeated per feature and its k (spec.k) in metadata only (spec §2.6).

import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write.js";
import { readSafetensors, SafetensorsError, writeSafetensors, type SafetensorsTensor } from "../model/safetensors.js";
import { ARCHITECTURES, checkParams, paramShapes, type Architecture, type SaeParams, type SaeSpec } from "./params.js";

export const SAE_CFG_FILE = "cfg.json";
export const SAE_WEIGHTS_FILE = "sae_weights.safetensors";
export const SAE_SPARSITY_FILE = "sparsity.safetensors";
export const SAE_METRICS_FILE = "metrics.json";
export const SAE_TRAINING_FILE = "training.json";
/** spec §4: SAELens reads a cfg without metadata.sae_lens_version ≥ 6.0.0 as the flat pre-6.0 format. */
export const SAE_LENS_VERSION = "6.0.0";
/** spec §3: densities are saved as log10(density + 1e-10), so a dead feature reads −10. */
export const DENSITY_EPSILON = 1e-10;

/** A file of an SAE directory that cannot be used; the message names the file and what is wrong with it. */
export class SaeFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "SaeFileError";
  }
}

/** Where the SAE's activations came from (cfg.json metadata). */
export interface SaeSite {
  modelName: string;
  /** TransformerLens hook name, e.g. blocks.5.hook_resid_post. */
  hookName: string;
  /** Tokens per context (Othello 59). */
  contextSize: number;
  /** The game dataset's id (`<contentHash>:<split>` for our caches). */
  datasetPath: string;
  /** SHA-256 of the model's model.safetensors (metadata.sae_circuits.model_sha256), when known. */
  modelSha256?: string;
}

/** An SAE as a directory holds it. */
export interface SavedSae {
  /** Its spec; a TopK spec carries `k` and `topkThreshold`, a BatchTopK one (saved as jumprelu) `k`. */
  spec: SaeSpec;
  params: SaeParams;
  /** The trainer that made it (metadata.sae_circuits.trainer): standard, p_anneal, gated, batch_topk, ... */
  trainer: string;
  site: SaeSite;
}

/** What a cfg.json holds, as written here (SAELens 6 field order) and as read back (other fields allowed). */
export interface SaeCfg {
  architecture: Architecture;
  d_in: number;
  d_sae: number;
  dtype: string;
  device: string;
  apply_b_dec_to_input: boolean;
  normalize_activations: string;
  reshape_activations: string;
  k?: number;
  rescale_acts_by_decoder_norm?: boolean;
  /** Always written; absent in pre-6.0 configs read back. */
  metadata?: { [key: string]: unknown };
}

/** The cfg.json of a saved SAE (spec §4): SAELens 6 fields in order, our provenance under metadata.sae_circuits. */
export function saeCfg(saved: SavedSae): SaeCfg {
  const { spec, site, trainer } = saved;
  if (spec.architecture === "topk" && !(Number.isInteger(spec.k) && spec.k! > 0)) {
    throw new SaeFileError(SAE_CFG_FILE, `a topk SAE needs a positive integer k on its spec, found ${spec.k}`);
  }
  const metadata: { [key: string]: unknown } = {
    sae_lens_version: SAE_LENS_VERSION,
    sae_lens_training_version: null,
    model_name: site.modelName,
    model_class_name: "HookedTransformer",
    hook_name: site.hookName,
    hook_head_index: null,
    context_size: site.contextSize,
    prepend_bos: false,
    seqpos_slice: [null],
    dataset_path: site.datasetPath,
    model_from_pretrained_kwargs: {},
    exclude_special_tokens: false,
    sequence_separator_token: null,
    disable_concat_sequences: true,
  };
  // θ < 0 is the "never updated" initial −1 (spec §2.5): left out, so the file holds no threshold to encode with
  if (spec.architecture === "topk" && spec.topkThreshold !== undefined && spec.topkThreshold >= 0) metadata.topk_threshold = spec.topkThreshold;
  if (spec.architecture === "jumprelu" && spec.k !== undefined) metadata.k = spec.k; // BatchTopK
  metadata.sae_circuits = { trainer, training: SAE_TRAINING_FILE, ...(site.modelSha256 ? { model_sha256: site.modelSha256 } : {}) };
  return {
    architecture: spec.architecture,
    d_in: spec.dIn,
    d_sae: spec.dSae,
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: spec.applyBDecToInput,
    normalize_activations: "none",
    reshape_activations: "none",
    ...(spec.architecture === "topk" ? { k: spec.k, rescale_acts_by_decoder_norm: false } : {}),
    metadata,
  };
}

/** log10(density + 1e-10) per feature (spec §3 feature_density), as sparsity.safetensors stores it. */
export function logFeatureDensity(density: ArrayLike<number>): Float32Array {
  return Float32Array.from(density, (value) => Math.log10(value + DENSITY_EPSILON));
}

export interface SaeDirectoryExtras {
  /** log10 feature density [dSae] (logFeatureDensity) → sparsity.safetensors. */
  logDensity?: Float32Array;
  /** → metrics.json. */
  metrics?: unknown;
  /** → training.json (a sweep writes its own; an import records its source here). */
  training?: unknown;
}

/** Writes sparsity.safetensors: the tensor `sparsity` [d_sae] of log10 feature densities. */
export async function writeSparsity(dir: string, dSae: number, logDensity: Float32Array): Promise<void> {
  const file = path.join(dir, SAE_SPARSITY_FILE);
  if (logDensity.length !== dSae) throw new SaeFileError(file, `sparsity has ${logDensity.length} values, expected [d_sae] = [${dSae}]`);
  await writeSafetensors(file, { sparsity: { dtype: "F32", shape: [dSae], data: logDensity } });
}

/** Writes cfg.json and sae_weights.safetensors (and the extras given) into `dir`; other files are left alone. */
export async function writeSaeDirectory(dir: string, saved: SavedSae, extras: SaeDirectoryExtras = {}): Promise<void> {
  const { spec, params } = saved;
  checkParams(spec.architecture, spec, params, path.join(dir, SAE_WEIGHTS_FILE));
  const cfg = saeCfg(saved);
  const tensors: Record<string, SafetensorsTensor> = {};
  const named = params as unknown as Record<string, Float32Array>;
  for (const [name, shape] of paramShapes(spec.architecture, spec)) tensors[name] = { dtype: "F32", shape, data: named[name] };
  await writeSafetensors(path.join(dir, SAE_WEIGHTS_FILE), tensors);
  if (extras.logDensity !== undefined) await writeSparsity(dir, spec.dSae, extras.logDensity);
  if (extras.metrics !== undefined) await writeJsonAtomic(path.join(dir, SAE_METRICS_FILE), extras.metrics);
  if (extras.training !== undefined) await writeJsonAtomic(path.join(dir, SAE_TRAINING_FILE), extras.training);
  // cfg.json last: a directory with a cfg.json has its weights.
  await writeFileAtomic(path.join(dir, SAE_CFG_FILE), JSON.stringify(cfg, null, 2) + "\n");
}

// ── reading ───────────────────────────────────────────────────────────────────────────────────────────────────

const positiveInt = z.number().int().positive();

const cfgSchema = z.looseObject({
  architecture: z.enum(ARCHITECTURES),
  d_in: positiveInt,
  d_sae: positiveInt,
  dtype: z.string().default("float32"),
  device: z.string().default("cpu"),
  apply_b_dec_to_input: z.boolean(),
  normalize_activations: z.literal("none", { error: 'only "none" is supported (fold any normalisation into the weights)' }).default("none"),
  reshape_activations: z.literal("none", { error: 'only "none" is supported' }).default("none"),
  k: positiveInt.optional(),
  metadata: z.looseObject({}).optional(),
});

const siteSchema = z.looseObject({
  model_name: z.string(),
  hook_name: z.string().min(1),
  context_size: positiveInt.nullable().default(null),
  dataset_path: z.string().nullable().default(null),
});

/** A directory read back: the SavedSae (trainer = the architecture for SAEs from elsewhere), its cfg and sparsity. */
export interface SaeDirectory extends SavedSae {
  cfg: SaeCfg;
  /** log10 feature density [dSae] from sparsity.safetensors, or null without that file. */
  logDensity: Float32Array | null;
}

function zodProblems(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`).join("; ");
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new SaeFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SaeFileError(file, `is not valid JSON (${(error as Error).message})`);
  }
}

/** cfg.json → spec, site and trainer; SAELens 6 (metadata) and pre-6 flat configs both read. */
function parseCfg(file: string, value: unknown): Omit<SaeDirectory, "params" | "logDensity"> {
  const parsed = cfgSchema.safeParse(value);
  if (!parsed.success) throw new SaeFileError(file, zodProblems(parsed.error));
  const cfg: SaeCfg = parsed.data;
  const metadata = cfg.metadata ?? (value as Record<string, unknown>); // pre-6.0: provenance at the top level
  const siteParsed = siteSchema.safeParse(metadata);
  if (!siteParsed.success) throw new SaeFileError(file, `${cfg.metadata ? "metadata." : ""}${zodProblems(siteParsed.error)}`);
  const site: SaeSite = {
    modelName: siteParsed.data.model_name,
    hookName: siteParsed.data.hook_name,
    contextSize: siteParsed.data.context_size ?? 0,
    datasetPath: siteParsed.data.dataset_path ?? "",
  };
  const spec: SaeSpec = { architecture: cfg.architecture, dIn: cfg.d_in, dSae: cfg.d_sae, applyBDecToInput: cfg.apply_b_dec_to_input };
  if (cfg.architecture === "topk") {
    if (cfg.k === undefined) throw new SaeFileError(file, "k: a topk SAE needs k");
    spec.k = cfg.k;
    const threshold = metadata.topk_threshold;
    if (threshold !== undefined && threshold !== null) {
      if (typeof threshold !== "number") throw new SaeFileError(file, `metadata.topk_threshold: expected a number, found ${JSON.stringify(threshold)}`);
      spec.topkThreshold = threshold;
    }
  }
  const circuits = metadata.sae_circuits as { trainer?: unknown; model_sha256?: unknown } | undefined;
  const trainer = typeof circuits?.trainer === "string" ? circuits.trainer : cfg.architecture;
  if (typeof circuits?.model_sha256 === "string") site.modelSha256 = circuits.model_sha256;
  if (cfg.architecture === "jumprelu" && metadata.k !== undefined && metadata.k !== null) {
    if (!Number.isInteger(metadata.k) || (metadata.k as number) < 1) throw new SaeFileError(file, `metadata.k: expected a positive integer, found ${JSON.stringify(metadata.k)}`);
    spec.k = metadata.k as number;
  }
  return { cfg, spec, site, trainer };
}

/** Float32 data of a safetensors tensor (F32 as is; F16/BF16 widened, F64 narrowed), or an error naming it. */
function floatData(file: string, name: string, tensor: SafetensorsTensor): Float32Array {
  if (tensor.data instanceof Float32Array) return tensor.data.slice();
  if (tensor.data instanceof Float64Array) return Float32Array.from(tensor.data);
  throw new SaeFileError(file, `tensor ${name} is ${tensor.dtype}, expected a float dtype (F32, F16, BF16, F64)`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/** Reads and checks an SAE directory: cfg.json, sae_weights.safetensors and (if present) sparsity.safetensors. */
export async function readSaeDirectory(dir: string): Promise<SaeDirectory> {
  const cfgFile = path.join(dir, SAE_CFG_FILE);
  const { spec, ...described } = parseCfg(cfgFile, await readJson(cfgFile));

  const weightsFile = path.join(dir, SAE_WEIGHTS_FILE);
  const weights = await readSafetensors(weightsFile, { widenHalf: true }).catch((error: unknown) => {
    throw error instanceof SafetensorsError ? error : new SaeFileError(weightsFile, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  });
  const expected = paramShapes(spec.architecture, spec);
  const params: Record<string, Float32Array> = {};
  for (const [name, shape] of expected) {
    const tensor = weights.tensors.get(name);
    if (tensor === undefined) throw new SaeFileError(weightsFile, `tensor ${name} [${shape.join(", ")}] is missing (architecture ${spec.architecture}, d_in ${spec.dIn}, d_sae ${spec.dSae} in ${SAE_CFG_FILE})`);
    if (!sameShape(tensor.shape, shape)) {
      throw new SaeFileError(weightsFile, `tensor ${name} has shape [${tensor.shape.join(", ")}], expected [${shape.join(", ")}] (d_in ${spec.dIn}, d_sae ${spec.dSae} in ${SAE_CFG_FILE})`);
    }
    params[name] = floatData(weightsFile, name, tensor);
  }
  for (const name of weights.tensors.keys()) {
    if (!expected.some(([expectedName]) => expectedName === name)) {
      throw new SaeFileError(weightsFile, `tensor ${name} does not belong to a ${spec.architecture} SAE (expected ${expected.map(([n]) => n).join(", ")})`);
    }
  }

  let logDensity: Float32Array | null = null;
  const sparsityFile = path.join(dir, SAE_SPARSITY_FILE);
  const sparsity = await readSafetensors(sparsityFile).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  });
  if (sparsity !== null) {
    const tensor = sparsity.tensors.get("sparsity");
    if (tensor === undefined) throw new SaeFileError(sparsityFile, `tensor sparsity [${spec.dSae}] is missing`);
    if (!sameShape(tensor.shape, [spec.dSae])) throw new SaeFileError(sparsityFile, `tensor sparsity has shape [${tensor.shape.join(", ")}], expected [d_sae] = [${spec.dSae}]`);
    logDensity = floatData(sparsityFile, "sparsity", tensor);
  }
  return { ...described, spec, params: params as unknown as SaeParams, logDensity };
}
