// The `activations` stage: the model of the `model` stage run over one split of the `games` stage's dataset, its
// activations at the chosen hooks cached as Arrow shards (data/activation-cache.ts) in `<stage dir>/cache/`. An
// interrupted attempt resumes from its last complete shard group.

import path from "node:path";
import { z } from "zod";
import { readDatasetDirectory, readDatasetManifest } from "../../boards/dataset-directory.js";
import { SPLITS, type Split } from "../../boards/splits.js";
import { initTfjs } from "../../compute/tfjs.js";
import { cacheActivations, defaultCacheHook, type CacheActivationsResult } from "../../data/activation-cache.js";
import { loadGpt, MODEL_WEIGHTS_FILE } from "../../model/checkpoint.js";
import { disposeGpt } from "../../model/gpt.js";
import { TRAIN_MODEL_DIR } from "../../model/train.js";
import { fileSha256 } from "../../io/file-hash.js";
import { defineStage } from "../stage.js";
import { DATASET_DIR } from "./games.js";

export const CACHE_DIR = "cache";

export const activationsStageConfigSchema = z.strictObject({
  /** TransformerLens hook names; default the SAE site of spec model.md §3 (blocks.2.hook_resid_post for 4 layers). */
  hooks: z.array(z.string().min(1)).min(1).optional(),
  split: z.enum(SPLITS).default("train"),
  /** Only the first games of the split. */
  maxGames: z.number().int().positive().optional(),
  shardRows: z.number().int().positive().default(65536),
  dtype: z.enum(["float32", "float16"]).default("float32"),
  /** Keep only positions whose input token is one of these (e.g. [4], chess '.'); null keeps all real positions. */
  positionTokens: z.array(z.number().int().nonnegative()).min(1).nullable().default(null),
  /** Games per model run. */
  batchSize: z.number().int().positive().default(64),
});
export type ActivationsStageConfig = z.output<typeof activationsStageConfigSchema>;

export interface ActivationsJobHooks {
  signal?: AbortSignal;
  progress?(done: number, total: number, unit: string): void;
  log?(message: string): void;
}

/** Caches the activations `config` asks for, of the checkpoint in `modelDir` over the dataset in `datasetDir`, into `out`. */
export async function runActivationsJob(
  config: ActivationsStageConfig,
  modelDir: string,
  datasetDir: string,
  out: string,
  hooks: ActivationsJobHooks = {},
): Promise<CacheActivationsResult> {
  const { tf } = await initTfjs();
  const dataset = await readDatasetManifest(datasetDir);
  const split: Split = config.split;
  const rows = (await readDatasetDirectory(datasetDir, [split], { checkOthelloMoves: false })).slice(0, config.maxGames);
  const model = await loadGpt(tf, modelDir);
  try {
    const cacheHooks = config.hooks ?? [defaultCacheHook(model.config)];
    hooks.log?.(`caching ${cacheHooks.join(", ")} of ${model.config.model_name} over ${rows.length} ${split} games`);
    return await cacheActivations({
      model,
      modelSha256: await fileSha256(path.join(modelDir, MODEL_WEIGHTS_FILE)),
      modelName: model.config.model_name,
      rows,
      datasetId: `${dataset.contentHash}:${split}`,
      split,
      hooks: cacheHooks,
      out,
      shardRows: config.shardRows,
      dtype: config.dtype,
      positionTokens: config.positionTokens,
      batchSize: config.batchSize,
      signal: hooks.signal,
      onProgress: (done, total) => hooks.progress?.(done, total, "rows"),
    });
  } finally {
    disposeGpt(model);
  }
}

export const activationsStage = defineStage({
  name: "activations",
  version: "1",
  description: "cache the model's activations at chosen hooks over a split of the games, as Arrow shards with a manifest",
  configSchema: activationsStageConfigSchema,
  inputs: ["games", "model"],
  async run({ config, inputs, dir, signal, progress, log }) {
    const started = Date.now();
    const { manifest, resumedShards } = await runActivationsJob(
      config,
      path.join(inputs.model.dir, TRAIN_MODEL_DIR),
      path.join(inputs.games.dir, DATASET_DIR),
      path.join(dir, CACHE_DIR),
      { signal, progress, log },
    );
    if (resumedShards > 0) log(`resumed after ${resumedShards} complete shard group(s)`);
    const metrics: Record<string, number> = { rows: manifest.rows, games: manifest.dataset.games, seconds: (Date.now() - started) / 1000 };
    for (const [hook, entry] of Object.entries(manifest.hooks)) {
      metrics[`${hook}.shards`] = entry.shards.length;
      metrics[`${hook}.bytes`] = entry.shards.reduce((sum, shard) => sum + shard.bytes, 0);
      metrics[`${hook}.meanNorm`] = entry.stats.mean_norm;
    }
    return { outputs: { cache: CACHE_DIR, manifest: path.join(CACHE_DIR, "manifest.json") }, metrics };
  },
});
