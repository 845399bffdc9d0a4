// `saec activations cache|info|verify|export`: the activations stage's work outside a pipeline, and a look inside
// (and a check of) an activation cache.

import path from "node:path";
import type { Command } from "commander";
import { cacheInfo, formatCacheInfo, formatCacheProblem, verifyCache } from "../../data/cache-inspect.js";
import { exportCacheToParquet } from "../../data/export.js";
import { loadGptConfig } from "../../model/checkpoint.js";
import { parseConfigWith } from "../config.js";
import { progressReporter } from "../progress.js";
import { activationsStageConfigSchema, runActivationsJob } from "../stages/activations.js";
import { integerOption, listOption } from "./options.js";

function integerListOption(flag: string): (value: string) => number[] {
  return (value) => listOption(flag)(value).map(integerOption(flag));
}

interface CacheOptions {
  model: string;
  games: string;
  split: string;
  hooks?: string[];
  out?: string;
  shardRows: number;
  float16?: boolean;
  positionsTokens?: number[];
  maxGames?: number;
  batchSize: number;
}

export function addActivationsCommands(group: Command): void {
  group
    .command("cache")
    .description("run a checkpoint over a split of a game dataset and cache hook activations as Arrow shards; rerun the same command to resume")
    .requiredOption("--model <dir>", "checkpoint directory (config.json + model.safetensors)")
    .requiredOption("--games <dir>", "game dataset directory")
    .option("--split <split>", "train | val | test", "train")
    .option("--hooks <names>", "comma-separated TransformerLens hook names (default: the residual stream at ~75% depth)", listOption("--hooks"))
    .option("--out <dir>", "cache directory (default: activations/<model name>-<split>)")
    .option("--shard-rows <n>", "rows per shard", integerOption("--shard-rows"), 65536)
    .option("--float16", "store activations as float16 (half the disk; widened to float32 on read)")
    .option("--positions-tokens <ids>", "keep only positions whose input token id is listed, e.g. 4 for chess '.'", integerListOption("--positions-tokens"))
    .option("--max-games <n>", "only the first n games of the split", integerOption("--max-games"))
    .option("--batch-size <n>", "games per model run", integerOption("--batch-size"), 64)
    .action(async (options: CacheOptions) => {
      const config = parseConfigWith(
        activationsStageConfigSchema,
        {
          hooks: options.hooks, split: options.split, maxGames: options.maxGames, shardRows: options.shardRows,
          dtype: options.float16 ? "float16" : "float32", positionTokens: options.positionsTokens ?? null, batchSize: options.batchSize,
        },
        "saec activations cache",
      );
      const out = options.out ?? path.join("activations", `${(await loadGptConfig(options.model)).model_name}-${config.split}`);
      const reporter = progressReporter();
      const stage = "activations cache";
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error("interrupted; rerun the same command to resume"));
      process.once("SIGINT", onSignal);
      const started = Date.now();
      reporter.emit({ type: "stage-start", stage, key: path.basename(out), resumed: false });
      try {
        const { manifest, reused, resumedShards } = await runActivationsJob(config, options.model, options.games, out, {
          signal: abort.signal,
          log: (message) => reporter.emit({ type: "log", stage, message }),
          progress: (done, total, unit) => reporter.emit({ type: "progress", stage, done, total, unit }),
        });
        reporter.emit({ type: "stage-end", stage, key: path.basename(out), seconds: (Date.now() - started) / 1000, metrics: {} });
        const how = reused ? "reused (already complete)" : resumedShards > 0 ? `resumed after ${resumedShards} shard group(s)` : "written";
        process.stdout.write(`${out}: ${manifest.rows} rows × ${Object.keys(manifest.hooks).length} hook(s), ${how}\n`);
      } finally {
        process.off("SIGINT", onSignal);
      }
    });

  group
    .command("info")
    .description("an activation cache's model, games, hooks with shapes, size and activation norms")
    .argument("<cache>", "cache directory")
    .option("--json", "print as JSON")
    .action(async (cache: string, options: { json?: boolean }) => {
      const info = await cacheInfo(cache);
      process.stdout.write((options.json ? JSON.stringify(info, null, 2) : formatCacheInfo(info)) + "\n");
    });

  group
    .command("verify")
    .description("re-read every shard of a cache against its manifest (size, SHA-256, decoding, metadata); exit code 1 and one line per problem")
    .argument("<cache>", "cache directory")
    .action(async (cache: string) => {
      const problems = await verifyCache(cache);
      if (problems.length > 0) {
        for (const problem of problems) process.stdout.write(`${formatCacheProblem(cache, problem)}\n`);
        process.exitCode = 1;
        return;
      }
      const info = await cacheInfo(cache);
      process.stdout.write(`${cache}: ok (${info.hooks.reduce((sum, hook) => sum + hook.shards, 0)} shards of ${info.hooks.length} hook(s), ${info.rows} rows each)\n`);
    });

  group
    .command("export")
    .description("write a cache as Parquet, one <hook>.parquet per hook (activation FixedSizeList<float32>[d], game_id, position, token)")
    .argument("<cache>", "cache directory")
    .requiredOption("--out <dir>", "directory for the Parquet files")
    .option("--hook <name>", "only this hook")
    .action(async (cache: string, options: { out: string; hook?: string }) => {
      const files = await exportCacheToParquet(cache, options.out, options.hook === undefined ? undefined : [options.hook]);
      for (const file of files) process.stdout.write(`${file}\n`);
    });
}
