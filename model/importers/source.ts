// What every importer of spec model.md §5.3 shares: the options, the error types, a reader of foreign tensors
// that tracks which keys were used, a reader of foreign config fields, and the builder of the native config.

import { GPT_FORMAT, GPT_FORMAT_VERSION, parseGptConfig, type GptConfig } from "../config.js";
import { parameterSpecs } from "../init.js";
import { widenBF16, widenF16, type SafetensorsTensor } from "../safetensors.js";
import { f32 } from "./layout.js";

export const IMPORT_SCHEMES = ["nanogpt", "hf-gpt2", "mingpt", "transformer-lens"] as const;
export type ImportScheme = (typeof IMPORT_SCHEMES)[number];

export interface ImportOptions {
  /** nanoGPT: the checkpoint's `model_args` {n_layer, n_head, n_embd, block_size, bias, vocab_size}. */
  modelArgs?: Record<string, unknown>;
  /** HF GPT-2: the parsed `config.json`. */
  hfConfig?: Record<string, unknown>;
  /** minGPT (Li et al.): number of heads, which its state dict does not record (8 for Othello-GPT). */
  nHeads?: number;
  /** TransformerLens: the HookedTransformerConfig as a dict (optional; shapes come from the tensors). */
  tlConfig?: Record<string, unknown>;
  modelName?: string;
  /** Default from the vocabulary size: 61 → othello, 32 → chess (boards.md §1.4, §2.1). */
  game?: GptConfig["game"];
  tokenizer?: GptConfig["tokenizer"];
  /** Default 0 for Othello, null for chess (spec §2). */
  padTokenId?: number | null;
  seed?: number;
  /** The file the tensors came from; recorded as config.source. */
  source?: { file: string; sha256: string };
}

export interface ImportedState {
  config: GptConfig;
  /** spec §5.1 names and shapes, all F32, in parameterSpecs order. */
  tensors: Map<string, SafetensorsTensor>;
}

export interface ExportedState {
  /** Foreign names and layout. */
  tensors: Map<string, SafetensorsTensor>;
  /** The foreign config that goes with them: nanoGPT model_args, HF config.json, minGPT GPTConfig kwargs, TL cfg. */
  foreignConfig: Record<string, unknown>;
}

/** A foreign state dict or config the importer cannot map; the message names the scheme, file, key and values. */
export class ImportError extends Error {
  constructor(
    readonly scheme: ImportScheme,
    readonly file: string,
    readonly key: string,
    message: string,
  ) {
    super(`${scheme} import of ${file}: ${key}: ${message}`);
    this.name = "ImportError";
  }
}

/** A model state that the chosen foreign layout cannot represent (e.g. gelu_new for nanoGPT). */
export class ExportError extends Error {
  constructor(
    readonly scheme: ImportScheme,
    readonly field: string,
    message: string,
  ) {
    super(`${scheme} export: ${field}: ${message}`);
    this.name = "ExportError";
  }
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/** Float data of a foreign tensor as float32 (F64 narrowed; F16/BF16 widened, raw or already widened). */
function floatData(tensor: SafetensorsTensor, fail: (message: string) => never): Float32Array {
  const { dtype, data } = tensor;
  if (data instanceof Float32Array && (dtype === "F32" || dtype === "F16" || dtype === "BF16")) return data.slice(); // owned: the source may view a file buffer
  if (data instanceof Float64Array) return Float32Array.from(data);
  if (data instanceof Uint16Array && dtype === "F16") return widenF16(data);
  if (data instanceof Uint16Array && dtype === "BF16") return widenBF16(data);
  return fail(`dtype ${dtype} is not a float type`);
}

/**
 * The foreign tensors by normalised key (prefixes stripped), handing each out once with its shape checked.
 * `finish` rejects whatever was neither taken nor an ignored buffer.
 */
export class SourceReader {
  private readonly entries = new Map<string, { original: string; tensor: SafetensorsTensor }>();
  private readonly taken = new Set<string>();

  /** `normalise` maps an original key to the key the importer asks for, or null for an ignored buffer. */
  constructor(
    readonly scheme: ImportScheme,
    readonly file: string,
    tensors: ReadonlyMap<string, SafetensorsTensor>,
    normalise: (original: string) => string | null,
    /** How a normalised key is spelled in the source, for "missing" messages. */
    private readonly spell: (key: string) => string = (key) => key,
  ) {
    for (const [original, tensor] of tensors) {
      const key = normalise(original);
      if (key === null) continue;
      const earlier = this.entries.get(key);
      if (earlier) this.failAt(original, `names the same tensor as "${earlier.original}"`);
      this.entries.set(key, { original, tensor });
    }
  }

  /** An error about the tensor asked for as `key`, named as the source spells it. */
  fail(key: string, message: string): never {
    return this.failAt(this.spelled(key), message);
  }

  private failAt(original: string, message: string): never {
    throw new ImportError(this.scheme, this.file, `tensor "${original}"`, message);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The key as the source spells it. */
  spelled(key: string): string {
    return this.entries.get(key)?.original ?? this.spell(key);
  }

  /** The shape of a tensor that must exist (to infer the architecture from it). */
  requireShape(key: string, rank: number): number[] {
    const entry = this.entries.get(key);
    if (!entry) this.fail(key, "missing");
    if (entry.tensor.shape.length !== rank) this.fail(key, `shape ${shapeText(entry.tensor.shape)} has rank ${entry.tensor.shape.length}, expected rank ${rank}`);
    return entry.tensor.shape;
  }

  /** Layer indices l of every key `<prefix><l>.…`, sorted. */
  blockIndices(prefix: string): number[] {
    const indices = new Set<number>();
    for (const key of this.entries.keys()) {
      const match = key.startsWith(prefix) ? /^(\d+)\./.exec(key.slice(prefix.length)) : null;
      if (match) indices.add(Number(match[1]));
    }
    return [...indices].sort((a, b) => a - b);
  }

  take(key: string, shape: readonly number[]): Float32Array {
    const entry = this.entries.get(key);
    if (!entry) return this.fail(key, `missing (expected shape ${shapeText(shape)})`);
    if (!sameShape(entry.tensor.shape, shape)) {
      this.fail(key, `shape ${shapeText(entry.tensor.shape)} in the source, ${shapeText(shape)} expected`);
    }
    this.taken.add(key);
    return floatData(entry.tensor, (message) => this.fail(key, message));
  }

  takeIfPresent(key: string, shape: readonly number[]): Float32Array | undefined {
    return this.has(key) ? this.take(key, shape) : undefined;
  }

  /** Every tensor was either taken or an ignored buffer; otherwise the first unknown key is named. */
  finish(): void {
    const unknown = [...this.entries].filter(([key]) => !this.taken.has(key)).map(([, entry]) => entry.original);
    if (unknown.length > 0) {
      const others = unknown.length > 1 ? ` (and ${unknown.length - 1} more: ${unknown.slice(1, 6).join(", ")}${unknown.length > 6 ? ", …" : ""})` : "";
      this.failAt(unknown[0], `not part of the ${this.scheme} layout${others}`);
    }
  }
}

/**
 * Whether a group of optional tensors is there: all present (true) or all absent (false; spec §5.3 "missing
 * biases → zeros and use_bias: false", folded LayerNorms); a partial group names the first missing key.
 */
export function allOrNone(reader: SourceReader, keys: readonly string[], what: string): boolean {
  const present = keys.filter((key) => reader.has(key));
  if (present.length === 0) return false;
  const missing = keys.find((key) => !reader.has(key));
  if (missing !== undefined) reader.fail(missing, `missing, though other ${what} (e.g. "${reader.spelled(present[0])}") are present`);
  return true;
}

// ── Foreign config fields ─────────────────────────────────────────────────────────────────────────────────────

/** Reads typed fields of a foreign config object, each failure naming the file and field. */
export class ForeignConfig {
  constructor(
    readonly scheme: ImportScheme,
    readonly file: string,
    readonly values: Record<string, unknown>,
  ) {}

  fail(field: string, message: string): never {
    throw new ImportError(this.scheme, this.file, `field "${field}"`, `${message} (got ${JSON.stringify(this.values[field])})`);
  }

  has(field: string): boolean {
    return this.values[field] !== undefined && this.values[field] !== null;
  }

  int(field: string, fallback?: number): number {
    const value = this.values[field];
    if (value === undefined || value === null) return fallback ?? this.fail(field, "missing");
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) this.fail(field, "must be a positive integer");
    return value;
  }

  number(field: string, fallback: number): number {
    const value = this.values[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(field, "must be a number");
    return value;
  }

  bool(field: string, fallback: boolean): boolean {
    const value = this.values[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") this.fail(field, "must be true or false");
    return value;
  }

  string(field: string, fallback: string): string {
    const value = this.values[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string") this.fail(field, "must be a string");
    return value;
  }
}

// ── The imported config and tensors ───────────────────────────────────────────────────────────────────────────

/** What an importer learns about the architecture; the rest of the config comes from the options. */
export interface Architecture {
  n_layers: number;
  d_model: number;
  n_heads: number;
  d_mlp: number;
  d_vocab: number;
  n_ctx: number;
  act_fn: GptConfig["act_fn"];
  eps: number;
  attn_scale: number | null;
  use_bias: boolean;
  tied_embeddings: boolean;
  normalization_type: GptConfig["normalization_type"];
}

const GAMES = {
  othello: { tokenizer: "othello-61", vocab: 61, pad: 0 },
  chess: { tokenizer: "chess-32", vocab: 32, pad: null },
} as const;

/** The full config: architecture plus game (inferred from the vocabulary unless given), name, seed, source. */
export function buildConfig(scheme: ImportScheme, file: string, arch: Architecture, options: ImportOptions): GptConfig {
  const fail = (field: string, message: string): never => {
    throw new ImportError(scheme, file, field, message);
  };
  if (arch.d_model % arch.n_heads !== 0) fail("n_heads", `${arch.n_heads} heads do not divide d_model ${arch.d_model}`);
  let game = options.game;
  if (options.tokenizer !== undefined) {
    const fromTokenizer = (Object.keys(GAMES) as (keyof typeof GAMES)[]).find((g) => GAMES[g].tokenizer === options.tokenizer);
    if (!fromTokenizer) fail("tokenizer", `unknown tokenizer ${JSON.stringify(options.tokenizer)}`);
    if (game !== undefined && game !== fromTokenizer) fail("tokenizer", `${options.tokenizer} does not belong to game ${game}`);
    game = fromTokenizer;
  }
  game ??= (Object.keys(GAMES) as (keyof typeof GAMES)[]).find((g) => GAMES[g].vocab === arch.d_vocab);
  if (game === undefined) {
    return fail("d_vocab", `vocabulary size ${arch.d_vocab} is neither Othello's 61 nor chess's 32: pass the game (and pad token) explicitly`);
  }
  const { tokenizer, pad } = GAMES[game];
  return parseGptConfig(
    {
      format: GPT_FORMAT,
      format_version: GPT_FORMAT_VERSION,
      model_name: options.modelName ?? `${game}-${arch.n_layers}l-${arch.d_model}`,
      game,
      tokenizer,
      ...arch,
      d_head: arch.d_model / arch.n_heads,
      pad_token_id: options.padTokenId === undefined ? pad : options.padTokenId,
      seed: options.seed ?? 0,
      source: options.source ? { importer: scheme, file: options.source.file, sha256: options.source.sha256 } : null,
    },
    `${scheme} import of ${file}`,
  );
}

/** The §5.1 tensors in parameterSpecs order, checking the importer produced every one with the right size. */
export function nativeTensors(config: GptConfig, values: ReadonlyMap<string, Float32Array>): Map<string, SafetensorsTensor> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of parameterSpecs(config)) {
    const data = values.get(spec.name);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!data || data.length !== size) throw new Error(`importer produced ${data ? `${data.length} values` : "nothing"} for ${spec.name} ${shapeText(spec.shape)}`);
    tensors.set(spec.name, f32([...spec.shape], data));
  }
  if (values.size !== tensors.size) throw new Error(`importer produced extra tensors: ${[...values.keys()].filter((k) => !tensors.has(k)).join(", ")}`);
  return tensors;
}

/** A model's state as float32 arrays by §5.1 name, checked against its config (the input of every exporter). */
export function modelState(scheme: ImportScheme, config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) {
    const tensor = tensors.get(spec.name);
    if (!tensor) throw new ExportError(scheme, spec.name, `missing (expected shape ${shapeText(spec.shape)})`);
    if (!sameShape(tensor.shape, spec.shape)) throw new ExportError(scheme, spec.name, `shape ${shapeText(tensor.shape)}, the config says ${shapeText(spec.shape)}`);
    values.set(spec.name, floatData(tensor, (message) => {
      throw new ExportError(scheme, spec.name, message);
    }));
  }
  for (const name of tensors.keys()) if (!values.has(name)) throw new ExportError(scheme, name, "not a parameter of this model");
  return values;
}

export function isAll(data: Float32Array, value: number): boolean {
  return data.every((x) => x === value);
}

/** Ones / zeros for parameters a source omits (folded LayerNorm, bias-free models). */
export const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
export const zeros = (n: number): Float32Array => new Float32Array(n);

/** Exporter guard: the named tensors must be all zero, since the foreign layout has no place for them. */
export function requireZeros(scheme: ImportScheme, state: ReadonlyMap<string, Float32Array>, names: readonly string[], reason: string): void {
  for (const name of names) {
    if (!isAll(state.get(name)!, 0)) throw new ExportError(scheme, name, `is non-zero, but ${reason}`);
  }
}

/** §5.1 bias names (attention, MLP, unembedding and LayerNorm biases). */
export function biasNames(config: GptConfig, { layerNorm }: { layerNorm: boolean }): string[] {
  return parameterSpecs(config).map((spec) => spec.name).filter((name) => /\.b_\w+$/.test(name) || (layerNorm && /\.b$/.test(name)));
}
