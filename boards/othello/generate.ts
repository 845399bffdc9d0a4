// Synthetic Othello datasets (spec boards.md §1.5, §4): shards of random games generated in parallel with piscina,
// merged in index order, optionally de-duplicated, split by content hash. Workers never change the output.

import { setMaxListeners } from "node:events";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import { z } from "zod";
import { datasetNameSchema, gameId, type OthelloGameRow } from "../game-dataset.js";
import { gameSeed, MAX_DATASET_SEED } from "../random.js";
import { splitFractionsSchema, SPLITS } from "../splits.js";
import {
  generateOthelloShard,
  RESULT_CODES,
  type OthelloShard,
  type OthelloShardTask,
} from "./random-games.js";
import { encodeOthelloMoves } from "./tokenizer.js";

/** Everything that determines the generated rows (worker count and callbacks do not). */
export const othelloGenerationConfigSchema = z.object({
  /** Games in the dataset (after de-duplication). */
  count: z.number().int().positive().default(1_000_000),
  seed: z.number().int().min(0).max(MAX_DATASET_SEED).default(0),
  /** Drop exact repeats of an earlier game's move sequence (spec §1.5 default on). */
  dedupe: z.boolean().default(true),
  /** Games per shard: the unit of work of a worker and the middle part of `game_id`. */
  shardSize: z.number().int().positive().default(10_000),
  /** First part of `game_id`: `<datasetName>-<shard>-<index in shard>`. */
  datasetName: datasetNameSchema.default("othello"),
  splits: splitFractionsSchema.default({ train: 0.98, val: 0.01 }),
});
export type OthelloGenerationConfig = z.output<typeof othelloGenerationConfigSchema>;

export interface OthelloGenerationOptions extends z.input<typeof othelloGenerationConfigSchema> {
  /** Worker threads; default: available cores. 1 generates in this thread. */
  workers?: number;
  /** Called after each shard with games accepted so far and the target count. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface ShardRunner {
  run(task: OthelloShardTask): Promise<OthelloShard>;
  close(): Promise<void>;
}

/** In-thread generation, yielding to the event loop between shards so progress and aborts get through. */
function inThreadRunner(signal?: AbortSignal): ShardRunner {
  return {
    async run(task) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      return generateOthelloShard(task);
    },
    async close() {},
  };
}

/**
 * Worker threads run the built generate-worker.js; under TypeScript sources (vitest, tsx) they load
 * generate-worker.ts through tsx's loader, and without tsx generation stays in this thread.
 */
function workerRunner(workers: number, signal?: AbortSignal): ShardRunner | undefined {
  const fromSources = import.meta.url.endsWith(".ts");
  let execArgv: string[] = [];
  if (fromSources) {
    try {
      execArgv = ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href];
    } catch {
      return undefined;
    }
  }
  const pool = new Piscina<OthelloShardTask, OthelloShard>({
    filename: new URL(fromSources ? "./generate-worker.ts" : "./generate-worker.js", import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    execArgv,
  });
  // Every queued shard task listens for the abort: one local signal, followed once, carries them all.
  const local = new AbortController();
  setMaxListeners(0, local.signal);
  signal?.addEventListener("abort", () => local.abort(signal.reason), { once: true });
  return {
    run: (task) => pool.run(task, { signal: local.signal }),
    close: () => pool.destroy(),
  };
}

/** Index ranges covering [start, start + count), cut at shard boundaries. */
function planShards(start: number, count: number, config: OthelloGenerationConfig): OthelloShardTask[] {
  const tasks: OthelloShardTask[] = [];
  for (let first = start; first < start + count; ) {
    const shardEnd = (Math.floor(first / config.shardSize) + 1) * config.shardSize;
    const end = Math.min(shardEnd, start + count);
    tasks.push({ datasetSeed: config.seed, start: first, count: end - first, splits: config.splits });
    first = end;
  }
  return tasks;
}

/**
 * Generates `count` games (spec §1.5). Games are taken in index order; with `dedupe`, a game repeating an earlier
 * one is skipped and later indices fill its place, so the rows are the first `count` distinct games.
 */
export async function generateOthelloGames(options: OthelloGenerationOptions): Promise<OthelloGameRow[]> {
  const { workers: requestedWorkers, onProgress, signal, ...configInput } = options;
  const config = othelloGenerationConfigSchema.parse(configInput);
  if (requestedWorkers !== undefined && (!Number.isInteger(requestedWorkers) || requestedWorkers < 1)) {
    throw new RangeError(`generateOthelloGames: workers must be a positive integer, got ${requestedWorkers}`);
  }
  const shardCount = Math.ceil(config.count / config.shardSize);
  const workers = Math.min(requestedWorkers ?? availableParallelism(), shardCount);
  const runner = (workers > 1 ? workerRunner(workers, signal) : undefined) ?? inThreadRunner(signal);
  const rows: OthelloGameRow[] = [];
  const seen = config.dedupe ? new Set<string>() : undefined;
  try {
    let nextIndex = 0;
    while (rows.length < config.count) {
      const tasks = planShards(nextIndex, config.count - rows.length, config);
      nextIndex += config.count - rows.length;
      const pending = tasks.map((task) => runner.run(task));
      pending.forEach((promise) => promise.catch(() => {})); // awaited in order below; silence the rest on failure
      for (const promise of pending) {
        appendShardRows(await promise, config, rows, seen);
        onProgress?.(rows.length, config.count);
      }
    }
  } finally {
    await runner.close();
  }
  return rows;
}

function appendShardRows(
  shard: OthelloShard,
  config: OthelloGenerationConfig,
  rows: OthelloGameRow[],
  seen?: Set<string>,
): void {
  let offset = 0;
  for (let i = 0; i < shard.lengths.length; i++) {
    const length = shard.lengths[i];
    const moves = shard.moves.subarray(offset, offset + length);
    offset += length;
    if (seen) {
      const key = Buffer.from(moves.buffer, moves.byteOffset, length).toString("latin1");
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const index = shard.start + i;
    rows.push({
      gameId: gameId(config.datasetName, config.shardSize, index),
      game: "othello",
      source: "random",
      moves,
      tokens: encodeOthelloMoves(moves),
      length,
      nChars: null,
      result: RESULT_CODES[shard.results[i]],
      seed: gameSeed(config.seed, index),
      meta: "{}",
      split: SPLITS[shard.splits[i]],
    });
  }
}
