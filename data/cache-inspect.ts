// Looking at a finished activation cache: `verifyCache` re-reads every shard against the manifest (size, SHA-256,
// decoding, schema metadata, row counts, identical rows across hooks); `cacheInfo` summarises it without reading
// the shards.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { readCacheManifest, type ActivationNormStats, type CacheManifest } from "./cache-manifest.js";
import { sha256Hex } from "./activation-cache.js";
import { decodeShard, ShardError, type ActivationShard, type ShardMetadata } from "./shards.js";

/** One thing wrong with a cache: the file (relative to the cache directory) and what is wrong with it. */
export interface CacheProblem {
  file: string;
  problem: string;
}

/** `<dir>/<file>: <problem>`, as `saec activations verify` prints it. */
export function formatCacheProblem(dir: string, { file, problem }: CacheProblem): string {
  return `${path.join(dir, file)}: ${problem}`;
}

/** Every problem found in the cache at `dir` (empty when it is intact). Memory holds two shards at a time. */
export async function verifyCache(dir: string): Promise<CacheProblem[]> {
  let manifest: CacheManifest;
  try {
    manifest = await readCacheManifest(dir);
  } catch (error) {
    return [{ file: "manifest.json", problem: (error as Error).message }];
  }
  const problems: CacheProblem[] = [];
  const hooks = Object.keys(manifest.hooks);
  const shardCount = Math.max(0, ...hooks.map((hook) => manifest.hooks[hook].shards.length));
  for (let index = 0; index < shardCount; index++) {
    let reference: { file: string; shard: ActivationShard } | null = null; // this index's shard of the first readable hook
    for (const hook of hooks) {
      const entry = manifest.hooks[hook].shards[index];
      if (entry === undefined) {
        problems.push({ file: hook, problem: `has ${manifest.hooks[hook].shards.length} shards, another hook has ${shardCount}` });
        continue;
      }
      const report = (problem: string) => problems.push({ file: entry.file, problem });
      const expectedRows = Math.min(manifest.shard_rows, manifest.rows - index * manifest.shard_rows);
      if (entry.rows !== expectedRows) report(`manifest lists ${entry.rows} rows, shard ${index} of ${manifest.rows} rows by ${manifest.shard_rows} should hold ${expectedRows}`);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(path.join(dir, entry.file));
      } catch (error) {
        report((error as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `cannot be read (${(error as Error).message})`);
        continue;
      }
      if (bytes.length !== entry.bytes) report(`${bytes.length} bytes, the manifest says ${entry.bytes}`);
      const sha256 = sha256Hex(bytes);
      if (sha256 !== entry.sha256) report(`SHA-256 ${sha256} differs from the manifest's ${entry.sha256}`);
      let shard: ActivationShard;
      try {
        shard = decodeShard(bytes, entry.file);
      } catch (error) {
        report(error instanceof ShardError ? `cannot be decoded (${error.message.slice(entry.file.length + 2)})` : `cannot be decoded (${(error as Error).message})`);
        continue;
      }
      const expected: ShardMetadata = {
        hook, model_sha256: manifest.model.sha256, d: manifest.hooks[hook].d, dtype: manifest.dtype, dataset_id: manifest.dataset.id, shard_index: index,
      };
      for (const key of Object.keys(expected) as (keyof ShardMetadata)[]) {
        if (shard.metadata[key] !== expected[key]) report(`metadata ${key} is ${JSON.stringify(shard.metadata[key])}, the manifest says ${JSON.stringify(expected[key])}`);
      }
      if (shard.rows !== entry.rows) report(`holds ${shard.rows} rows, the manifest says ${entry.rows}`);
      if (reference === null) reference = { file: entry.file, shard };
      else if (!sameRows(reference.shard, shard)) report(`rows (game id, position, token) differ from those of ${reference.file}`);
    }
  }
  return problems;
}

function sameRows(a: ActivationShard, b: ActivationShard): boolean {
  if (a.rows !== b.rows) return false;
  for (let i = 0; i < a.rows; i++) {
    if (a.gameIds[i] !== b.gameIds[i] || a.positions[i] !== b.positions[i] || a.tokens[i] !== b.tokens[i]) return false;
  }
  return true;
}

export interface CacheHookInfo {
  hook: string;
  d: number;
  shards: number;
  bytes: number;
  stats: ActivationNormStats;
}

export interface CacheInfo {
  dir: string;
  model: CacheManifest["model"];
  dataset: CacheManifest["dataset"];
  dtype: CacheManifest["dtype"];
  rows: number;
  shardRows: number;
  positionTokens: number[] | null;
  hooks: CacheHookInfo[];
  /** All shard bytes together. */
  bytes: number;
}

/** A summary of the cache at `dir` from its manifest. */
export async function cacheInfo(dir: string): Promise<CacheInfo> {
  const manifest = await readCacheManifest(dir);
  const hooks = Object.entries(manifest.hooks).map(([hook, entry]) => ({
    hook,
    d: entry.d,
    shards: entry.shards.length,
    bytes: entry.shards.reduce((sum, shard) => sum + shard.bytes, 0),
    stats: entry.stats,
  }));
  return {
    dir,
    model: manifest.model,
    dataset: manifest.dataset,
    dtype: manifest.dtype,
    rows: manifest.rows,
    shardRows: manifest.shard_rows,
    positionTokens: manifest.positions.tokens,
    hooks,
    bytes: hooks.reduce((sum, hook) => sum + hook.bytes, 0),
  };
}

/** cacheInfo as the lines `saec activations info` prints. */
export function formatCacheInfo(info: CacheInfo): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  const lines = [
    `${info.dir}: ${info.rows.toLocaleString("en-US")} rows per hook, ${info.dtype}, ${mib(info.bytes)} in all`,
    `  model:     ${info.model.name} (sha256 ${info.model.sha256.slice(0, 12)}…), d_model ${info.model.d_model}, n_ctx ${info.model.n_ctx}`,
    `  games:     ${info.dataset.games.toLocaleString("en-US")} of split ${info.dataset.split} (dataset ${info.dataset.id})`,
    `  positions: ${info.positionTokens === null ? "every real position" : `input tokens ${info.positionTokens.join(", ")}`}; ${info.shardRows.toLocaleString("en-US")} rows per shard`,
  ];
  for (const hook of info.hooks) {
    const { mean_norm, min_norm, max_norm } = hook.stats;
    lines.push(
      `  ${hook.hook.padEnd(28)} [${info.rows}, ${hook.d}]  ${hook.shards} shard(s), ${mib(hook.bytes)}, ` +
        `norm mean ${mean_norm.toPrecision(4)} (min ${min_norm.toPrecision(4)}, max ${max_norm.toPrecision(4)})`,
    );
  }
  return lines.join("\n");
}
