// The activation cache (README "Activation cache"): a model run over the games of one split in batches, every real
// position's activation at each chosen hook written as fixed-row Arrow shards (data/shards.ts), one directory per
// hook, and a manifest (data/cache-manifest.ts) written last. Resumable at shard granularity: progress.json lists
// the shard groups already on disk; a restarted run checks them and recomputes from the first missing one.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { GameRow } from "../boards/game-dataset.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write.js";
import type { GptConfig } from "../model/config.js";
import { hookNames, UnknownHookError, type Gpt } from "../model/gpt.js";
import { hookShape, run } from "../model/interventions.js";
import { widenF16 } from "../model/safetensors.js";
import { tokenSequences } from "../model/training-data.js";
import {
  CACHE_FORMAT, CACHE_FORMAT_VERSION, CACHE_MANIFEST, readCacheManifest,
  type ActivationNormStats, type CacheManifest, type CacheShardEntry,
} from "./cache-manifest.js";
import { encodeShard, toFloat16Bits, type ActivationDtype } from "./shards.js";

export const CACHE_PROGRESS = "progress.json";

/** A hook whose activation is not one vector per position (the attention maps, [B, H, T, T]). */
export class UncacheableHookError extends Error {
  constructor(readonly hook: string, shape: readonly (number | string)[], cacheable: readonly string[]) {
    super(
      `hook "${hook}" has shape [${shape.join(", ")}], one value per pair of positions, not one vector per position; ` +
        `cacheable hooks: ${cacheable.join(", ")}`,
    );
    this.name = "UncacheableHookError";
  }
}

/** An output directory that holds a cache (or an unfinished one) made with other parameters. */
export class CacheParametersError extends Error {
  constructor(readonly dir: string, readonly differences: readonly string[]) {
    super(`${dir} holds an activation cache made with other parameters (${differences.join("; ")}); choose another --out`);
    this.name = "CacheParametersError";
  }
}

/** The default SAE site of spec model.md §3: the residual stream at ≈75 % of the depth (blocks.2 of 4, blocks.5 of 8). */
export function defaultCacheHook(config: GptConfig): string {
  return `blocks.${Math.max(0, Math.round(0.75 * config.n_layers) - 1)}.hook_resid_post`;
}

/** Width of one cached row at `hook` (q/k/v/z flattened to H·d_head); unknown or per-pair hooks are errors. */
export function cacheRowWidth(config: GptConfig, hook: string): number {
  const shape = hookShape(config, hook, 1, 1); // throws UnknownHookError listing the valid names
  if (/attn\.hook_(attn_scores|pattern)$/.test(hook)) {
    throw new UncacheableHookError(hook, ["B", config.n_heads, "T", "T"], hookNames(config).filter((name) => !/hook_(attn_scores|pattern)$/.test(name)));
  }
  return shape.slice(2).reduce((product, size) => product * size, 1);
}

/** Real input positions of a game (spec model.md §4): Othello min(moves, 59), chess min(characters, n_ctx). */
export function realPositions(config: GptConfig, row: GameRow): number {
  return Math.min(row.game === "othello" ? row.length : row.moves.length, config.n_ctx);
}

/** Rows of a batch, in cache order, with each hook's activations [rows, d]. */
export interface ActivationBatch {
  gameIds: string[];
  positions: Int32Array;
  tokens: Int32Array;
  activations: Map<string, Float32Array>;
}

/**
 * One model run over `rows` (one batch, as [rows, n_ctx] padded token ids like training): the activations at `hooks`
 * of every real position whose input token is in `positionTokens` (all when null), games in order, positions in order.
 * The kernels' rounding depends on the batch's shape and a row's place in it, so equal batches give equal bits.
 */
export function batchActivations(model: Gpt, rows: readonly GameRow[], hooks: readonly string[], positionTokens: readonly number[] | null = null): ActivationBatch {
  const { tf, config } = model;
  const T = config.n_ctx;
  const widths = hooks.map((hook) => cacheRowWidth(config, hook));
  const keep = positionTokens === null ? null : new Set(positionTokens);
  const inputs = tokenSequences(config, rows).inputs; // [games, n_ctx]
  const lengths = rows.map((row) => realPositions(config, row));
  const stopAt = hookNames(config).filter((name) => hooks.includes(name)).at(-1)!;
  const tokens = tf.tensor2d(inputs, [rows.length, T], "int32");
  let values: Float32Array[];
  try {
    // run needs lengths ≥ 1; a game without positions adds no rows anyway.
    const out = run(model, tokens, lengths.map((length) => Math.max(1, length)), { cache: hooks, stopAt, logits: "none" });
    values = hooks.map((hook) => out.cache.get(hook)!.dataSync() as Float32Array); // [B, T, d] (q/k/v/z: [B, T, H·dh])
    tf.dispose([...out.cache.values(), ...out.saved.values()]);
  } finally {
    tokens.dispose();
  }
  const selected: number[] = []; // flat b·T + i of each kept row
  const gameIds: string[] = [];
  rows.forEach((row, b) => {
    for (let i = 0; i < lengths[b]; i++) {
      if (keep !== null && !keep.has(inputs[b * T + i])) continue;
      selected.push(b * T + i);
      gameIds.push(row.gameId);
    }
  });
  const activations = new Map<string, Float32Array>();
  for (const [h, hook] of hooks.entries()) {
    const d = widths[h];
    const gathered = new Float32Array(selected.length * d);
    selected.forEach((flat, row) => gathered.set(values[h].subarray(flat * d, (flat + 1) * d), row * d));
    activations.set(hook, gathered);
  }
  return {
    gameIds,
    positions: Int32Array.from(selected, (flat) => flat % T),
    tokens: Int32Array.from(selected, (flat) => inputs[flat]),
    activations,
  };
}

/** Cached rows per game (real positions passing the filter), computed from the tokens alone. */
export function rowsPerGame(config: GptConfig, rows: readonly GameRow[], positionTokens: readonly number[] | null): Int32Array {
  const keep = positionTokens === null ? null : new Set(positionTokens);
  const counts = new Int32Array(rows.length);
  const chunk = 1024; // tokenSequences allocates [games, n_ctx]: bounded chunks keep that small
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const inputs = tokenSequences(config, part).inputs;
    part.forEach((row, g) => {
      const length = realPositions(config, row);
      if (keep === null) counts[start + g] = length;
      else for (let i = 0; i < length; i++) if (keep.has(inputs[g * config.n_ctx + i])) counts[start + g]++;
    });
  }
  return counts;
}

export interface CacheActivationsOptions {
  model: Gpt;
  /** SHA-256 of the model's model.safetensors (recorded in the manifest and every shard). */
  modelSha256: string;
  modelName: string;
  /** Games of one split, in dataset order. */
  rows: readonly GameRow[];
  /** `<contentHash>:<split>` of the dataset. */
  datasetId: string;
  split: string;
  hooks: readonly string[];
  out: string;
  shardRows?: number;
  dtype?: ActivationDtype;
  /** Keep only positions whose input token is one of these (e.g. chess '.'); null keeps every real position. */
  positionTokens?: readonly number[] | null;
  /**
   * Games per model run, [batchSize, n_ctx]. Batches are consecutive games from the first; the kernels' rounding
   * depends on the batch shape, so a resumed run repeats the uninterrupted run's batches to get the same bits.
   */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?(rowsDone: number, rowsTotal: number): void;
}

export interface CacheActivationsResult {
  manifest: CacheManifest;
  /** True when a finished cache with the same parameters was found and nothing was computed. */
  reused: boolean;
  /** Shard groups found complete on disk from an interrupted run (0 for a fresh one). */
  resumedShards: number;
}

/** What makes two caches the same: everything in the manifest but the shard list and the norms. */
type CacheParameters = Omit<CacheManifest, "hooks" | "rows" | "model"> & { model: Omit<CacheManifest["model"], "name">; hooks: string[] };

interface ShardProgress {
  entry: CacheShardEntry;
  /** Σ, max and min of the row norms of this shard (float64 sums, so a resumed run totals them identically). */
  norms: { sum: number; max: number; min: number };
}

interface CacheProgress {
  parameters: CacheParameters;
  /** One group per completed shard index: hook → its shard. */
  shards: Record<string, ShardProgress>[];
}

function differences(expected: CacheParameters, found: CacheParameters): string[] {
  const fields: [string, unknown, unknown][] = [
    ["model sha256", expected.model.sha256, found.model.sha256],
    ["dataset", expected.dataset, found.dataset],
    ["dtype", expected.dtype, found.dtype],
    ["shard rows", expected.shard_rows, found.shard_rows],
    ["positions", expected.positions, found.positions],
    ["hooks", expected.hooks, found.hooks],
  ];
  return fields
    .filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b))
    .map(([name, a, b]) => `${name}: ${JSON.stringify(b)} there, ${JSON.stringify(a)} asked`);
}

function manifestParameters(manifest: CacheManifest): CacheParameters {
  const { hooks, rows: _rows, model, ...rest } = manifest;
  return { ...rest, model: { sha256: model.sha256, d_model: model.d_model, n_ctx: model.n_ctx }, hooks: Object.keys(hooks) };
}

export function shardFile(hook: string, index: number): string {
  return `${hook}/shard-${String(index).padStart(5, "0")}.arrow`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Leading shard groups of `progress` whose files are all present with the recorded size and SHA-256. */
async function intactShards(dir: string, progress: CacheProgress): Promise<number> {
  for (const [index, group] of progress.shards.entries()) {
    for (const { entry } of Object.values(group)) {
      const bytes = await readFile(path.join(dir, entry.file)).catch(() => null);
      if (bytes === null || bytes.length !== entry.bytes || sha256Hex(bytes) !== entry.sha256) return index;
    }
  }
  return progress.shards.length;
}

/** Removes temporaries of atomic writes a kill left behind (`.<name>.<random>.tmp`). */
async function removeTemporaries(dir: string, hooks: readonly string[]): Promise<void> {
  for (const folder of [dir, ...hooks.map((hook) => path.join(dir, hook))]) {
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) if (name.startsWith(".") && name.endsWith(".tmp")) await rm(path.join(folder, name), { force: true });
  }
}

function normStats(values: Float32Array, d: number): ShardProgress["norms"] {
  const norms = { sum: 0, max: -Infinity, min: Infinity };
  for (let row = 0; row < values.length / d; row++) {
    let square = 0;
    for (let j = row * d; j < (row + 1) * d; j++) square += values[j] * values[j];
    const norm = Math.sqrt(square);
    norms.sum += norm;
    norms.max = Math.max(norms.max, norm);
    norms.min = Math.min(norms.min, norm);
  }
  return norms;
}

/**
 * Writes (or resumes, or reuses) the activation cache of `options` in `options.out`. Memory holds one shard's rows
 * per hook and one batch of model outputs, whatever the number of games.
 */
export async function cacheActivations(options: CacheActivationsOptions): Promise<CacheActivationsResult> {
  const { model, rows, out } = options;
  const { config } = model;
  const shardRows = options.shardRows ?? 65536;
  const batchSize = options.batchSize ?? 64;
  const dtype = options.dtype ?? "float32";
  const positionTokens = options.positionTokens ? [...options.positionTokens] : null;
  for (const [name, value] of [["shardRows", shardRows], ["batchSize", batchSize]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`cacheActivations: ${name} must be a positive integer, got ${value}`);
  }
  if (!/^[0-9a-f]{64}$/.test(options.modelSha256)) throw new RangeError(`cacheActivations: modelSha256 must be 64 lowercase hex digits, got "${options.modelSha256}"`);
  if (options.hooks.length === 0) throw new RangeError("cacheActivations: no hooks given");
  const order = hookNames(config);
  for (const hook of options.hooks) if (!order.includes(hook)) throw new UnknownHookError(hook, order);
  const hooks = order.filter((name) => options.hooks.includes(name)); // firing order, duplicates dropped
  const widths = new Map(hooks.map((hook) => [hook, cacheRowWidth(config, hook)]));
  const parameters: CacheParameters = {
    format: CACHE_FORMAT,
    format_version: CACHE_FORMAT_VERSION,
    model: { sha256: options.modelSha256, d_model: config.d_model, n_ctx: config.n_ctx },
    dataset: { id: options.datasetId, split: options.split, games: rows.length },
    dtype,
    shard_rows: shardRows,
    positions: { tokens: positionTokens },
    hooks,
  };

  // A finished cache: reuse it when it was made the same way.
  if (existsSync(path.join(out, CACHE_MANIFEST))) {
    const existing = await readCacheManifest(out);
    const found = differences(parameters, manifestParameters(existing));
    if (found.length > 0) throw new CacheParametersError(out, found);
    return { manifest: existing, reused: true, resumedShards: 0 };
  }

  const counts = rowsPerGame(config, rows, positionTokens);
  const firstRow = new Float64Array(rows.length + 1); // firstRow[g] = cache row where game g starts
  counts.forEach((count, g) => (firstRow[g + 1] = firstRow[g] + count));
  const totalRows = firstRow[rows.length];
  if (totalRows === 0) throw new RangeError(`cacheActivations: ${rows.length} games give no positions to cache (positions filter ${JSON.stringify(positionTokens)})`);
  const shardCount = Math.ceil(totalRows / shardRows);
  const rowsOfShard = (k: number) => Math.min(shardRows, totalRows - k * shardRows);

  // An interrupted run: keep its intact leading shard groups.
  const progressFile = path.join(out, CACHE_PROGRESS);
  const previous = await readFile(progressFile, "utf8").then((text) => JSON.parse(text) as CacheProgress, () => null);
  const progress: CacheProgress = { parameters, shards: [] };
  if (previous !== null) {
    const found = differences(parameters, previous.parameters);
    if (found.length > 0) throw new CacheParametersError(out, found);
    progress.shards = previous.shards.slice(0, await intactShards(out, previous));
  }
  await removeTemporaries(out, hooks);
  const resumedShards = progress.shards.length;
  const startRow = resumedShards * shardRows;

  // Batches always start at multiples of batchSize, so a resumed run repeats the uninterrupted run's model calls
  // exactly; rows before startRow are dropped.
  let startGame = 0;
  while (startGame < rows.length && firstRow[startGame + 1] <= startRow) startGame++;
  startGame -= startGame % batchSize;
  let row = firstRow[startGame];

  const capacity = Math.min(shardRows, totalRows);
  const buffers = new Map(hooks.map((hook) => [hook, new Float32Array(capacity * widths.get(hook)!)]));
  const gameIds: string[] = [];
  const positions = new Int32Array(capacity);
  const tokens = new Int32Array(capacity);
  let filled = 0;

  const flush = async (): Promise<void> => {
    const index = progress.shards.length;
    const group: Record<string, ShardProgress> = {};
    for (const hook of hooks) {
      const d = widths.get(hook)!;
      const activations = buffers.get(hook)!.subarray(0, filled * d);
      const bytes = encodeShard(
        { hook, model_sha256: options.modelSha256, d, dtype, dataset_id: options.datasetId, shard_index: index },
        { activations, gameIds, positions: positions.subarray(0, filled), tokens: tokens.subarray(0, filled) },
      );
      const file = shardFile(hook, index);
      await writeFileAtomic(path.join(out, file), bytes);
      const stored = dtype === "float16" ? widenF16(toFloat16Bits(activations)) : activations;
      group[hook] = { entry: { file, rows: filled, bytes: bytes.length, sha256: sha256Hex(bytes) }, norms: normStats(stored, d) };
    }
    progress.shards.push(group);
    await writeJsonAtomic(progressFile, progress);
    filled = 0;
    gameIds.length = 0;
  };

  for (let start = startGame; start < rows.length && progress.shards.length < shardCount; start += batchSize) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error("activation caching was interrupted");
    const batch = batchActivations(model, rows.slice(start, start + batchSize), hooks, positionTokens);
    for (let r = 0; r < batch.positions.length; r++, row++) {
      if (row < startRow) continue;
      for (const hook of hooks) {
        const d = widths.get(hook)!;
        buffers.get(hook)!.set(batch.activations.get(hook)!.subarray(r * d, (r + 1) * d), filled * d);
      }
      gameIds.push(batch.gameIds[r]);
      positions[filled] = batch.positions[r];
      tokens[filled] = batch.tokens[r];
      filled++;
      if (filled === rowsOfShard(progress.shards.length)) await flush();
    }
    options.onProgress?.(Math.max(row, startRow), totalRows);
  }
  if (progress.shards.length !== shardCount) {
    throw new Error(`cacheActivations: wrote ${progress.shards.length} of ${shardCount} shards (${row} of ${totalRows} rows); the games changed while caching?`);
  }

  const manifest: CacheManifest = {
    format: CACHE_FORMAT,
    format_version: CACHE_FORMAT_VERSION,
    model: { name: options.modelName, sha256: options.modelSha256, d_model: config.d_model, n_ctx: config.n_ctx },
    dataset: parameters.dataset,
    dtype,
    shard_rows: shardRows,
    rows: totalRows,
    positions: { tokens: positionTokens },
    hooks: Object.fromEntries(
      hooks.map((hook) => {
        const shards = progress.shards.map((group) => group[hook]);
        const stats: ActivationNormStats = {
          mean_norm: shards.reduce((sum, shard) => sum + shard.norms.sum, 0) / totalRows,
          max_norm: Math.max(...shards.map((shard) => shard.norms.max)),
          min_norm: Math.min(...shards.map((shard) => shard.norms.min)),
        };
        return [hook, { d: widths.get(hook)!, shards: shards.map((shard) => shard.entry), stats }];
      }),
    ),
  };
  await writeJsonAtomic(path.join(out, CACHE_MANIFEST), manifest);
  await rm(progressFile, { force: true });
  return { manifest, reused: false, resumedShards };
}
