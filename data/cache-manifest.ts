// The manifest of an activation cache (README "Activation cache"): which model and games the activations came
// from, and per hook its shards with row counts, byte counts and SHA-256. Written last, so a cache without one is
// unfinished.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

export const CACHE_MANIFEST = "manifest.json";
export const CACHE_FORMAT = "sae-circuits.activations";
export const CACHE_FORMAT_VERSION = 1;

const count = z.number().int().nonnegative();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");

export const cacheShardEntrySchema = z.strictObject({
  /** Path relative to the cache directory, `<hook>/shard-00000.arrow`. */
  file: z.string().min(1),
  rows: count,
  bytes: count,
  sha256,
});

export const activationNormStatsSchema = z.strictObject({
  /** L2 norms of the stored activation rows (after any float16 rounding). */
  mean_norm: z.number(),
  max_norm: z.number(),
  min_norm: z.number(),
});

export const cacheHookSchema = z.strictObject({
  d: z.number().int().positive(),
  shards: z.array(cacheShardEntrySchema),
  stats: activationNormStatsSchema,
});

export const cacheManifestSchema = z.strictObject({
  format: z.literal(CACHE_FORMAT),
  format_version: z.literal(CACHE_FORMAT_VERSION),
  model: z.strictObject({
    name: z.string(),
    /** SHA-256 of the model's model.safetensors. */
    sha256,
    d_model: z.number().int().positive(),
    n_ctx: z.number().int().positive(),
  }),
  dataset: z.strictObject({
    /** `<contentHash>:<split>` of the game dataset (boards/dataset-directory.ts). */
    id: z.string().min(1),
    split: z.string().min(1),
    games: count,
  }),
  dtype: z.enum(["float32", "float16"]),
  shard_rows: z.number().int().positive(),
  /** Rows per hook (every hook holds the same rows in the same order). */
  rows: count,
  positions: z.strictObject({
    /** Token ids whose positions are kept, or null for every real position. */
    tokens: z.array(z.number().int().nonnegative()).nullable(),
  }),
  hooks: z.record(z.string(), cacheHookSchema),
});

export type CacheShardEntry = z.infer<typeof cacheShardEntrySchema>;
export type ActivationNormStats = z.infer<typeof activationNormStatsSchema>;
export type CacheHook = z.infer<typeof cacheHookSchema>;
export type CacheManifest = z.infer<typeof cacheManifestSchema>;

/** A cache manifest that is missing, unreadable or invalid; the message names the file and the field. */
export class CacheManifestError extends Error {
  constructor(
    readonly file: string,
    readonly field: string | null,
    detail: string,
  ) {
    super(field === null ? `${file}: ${detail}` : `${file}: ${field}: ${detail}`);
    this.name = "CacheManifestError";
  }
}

function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of keys) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Validates a parsed manifest; `file` names where it came from, for the error. */
export function parseCacheManifest(value: unknown, file = CACHE_MANIFEST): CacheManifest {
  const parsed = cacheManifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    const found = issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : `got ${describe(valueAt(value, issue.path))}`;
    throw new CacheManifestError(file, field, `${issue.message} (${found})`);
  }
  const manifest = parsed.data;
  for (const [hook, entry] of Object.entries(manifest.hooks)) {
    const rows = entry.shards.reduce((sum, shard) => sum + shard.rows, 0);
    if (rows !== manifest.rows) {
      throw new CacheManifestError(file, `hooks.${hook}.shards`, `shards hold ${rows} rows, the manifest says rows = ${manifest.rows}`);
    }
  }
  return manifest;
}

/** Reads and validates `<dir>/manifest.json`. */
export async function readCacheManifest(dir: string): Promise<CacheManifest> {
  const file = path.join(dir, CACHE_MANIFEST);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CacheManifestError(file, null, "no activation cache manifest (it is written last, so an unfinished cache has none)");
    }
    throw new CacheManifestError(file, null, `cannot be read (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CacheManifestError(file, null, `not valid JSON (${(error as Error).message})`);
  }
  return parseCacheManifest(value, file);
}
