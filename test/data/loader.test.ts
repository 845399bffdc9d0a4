// The activation sources of SAE training (spec sae.md §1.1): the cache loader over small hand-made caches whose rows
// carry their own index (row r of d values holds r·d + j), so coverage, order and corruption can be checked exactly;
// its peak RSS against the cache size in child processes; and the on-the-fly model source against runWithCache.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GameRow } from "../../boards/game-dataset.js";
import { initTfjs } from "../../compute/tfjs.js";
import { createGpt, runWithCache, type Gpt } from "../../model/gpt.js";
import { SequenceOrder, tokenSequences } from "../../model/training-data.js";
import { ActivationSourceError } from "../../data/activation-source.js";
import { CACHE_MANIFEST, parseCacheManifest, type CacheManifest } from "../../data/cache-manifest.js";
import { CacheLoader, type CacheLoaderOptions } from "../../data/loader.js";
import { ModelActivationSource } from "../../data/model-source.js";
import { encodeShard, ShardError, type ActivationDtype } from "../../data/shards.js";
import { tinyGames, tinyTrainConfig } from "../model/train-fixtures.js";

const HOOK = "blocks.0.hook_resid_post";
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "saec-loader-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface TestCache {
  dir: string;
  manifest: CacheManifest;
  /** Absolute shard paths, in index order. */
  files: string[];
  rows: number;
}

/**
 * A cache of one hook with `shardRows` rows per shard (the last `lastRows`); row r holds r·d + j at column j
 * (`identifiable`) or a cheap constant pattern (big caches).
 */
async function writeCache(name: string, options: { shards: number; shardRows: number; lastRows?: number; d: number; dtype?: ActivationDtype; identifiable?: boolean }): Promise<TestCache> {
  const { shards, shardRows, d, dtype = "float32", identifiable = true } = options;
  const dir = path.join(root, name);
  await mkdir(path.join(dir, HOOK), { recursive: true });
  const entries: CacheManifest["hooks"][string]["shards"] = [];
  const files: string[] = [];
  let first = 0;
  for (let index = 0; index < shards; index++) {
    const rows = index === shards - 1 ? (options.lastRows ?? shardRows) : shardRows;
    const activations = new Float32Array(rows * d);
    if (identifiable) for (let i = 0; i < activations.length; i++) activations[i] = first * d + i;
    else activations.fill(index + 1);
    const bytes = encodeShard(
      { hook: HOOK, model_sha256: "0".repeat(64), d, dtype, dataset_id: "test:train", shard_index: index },
      { activations, gameIds: Array.from({ length: rows }, (_, r) => `g-0-${first + r}`), positions: new Int32Array(rows), tokens: new Int32Array(rows) },
    );
    const file = `${HOOK}/shard-${String(index).padStart(5, "0")}.arrow`;
    await writeFile(path.join(dir, file), bytes);
    entries.push({ file, rows, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
    files.push(path.join(dir, file));
    first += rows;
  }
  const manifest = parseCacheManifest({
    format: "sae-circuits.activations", format_version: 1,
    model: { name: "test", sha256: "0".repeat(64), d_model: d, n_ctx: 59 },
    dataset: { id: "test:train", split: "train", games: 1 },
    dtype, shard_rows: options.shardRows, rows: first, positions: { tokens: null },
    hooks: { [HOOK]: { d, shards: entries, stats: { mean_norm: 1, max_norm: 1, min_norm: 1 } } },
  });
  await writeFile(path.join(dir, CACHE_MANIFEST), JSON.stringify(manifest, null, 2));
  return { dir, manifest, files, rows: first };
}

/** Every batch of a loader, as arrays of row indices (checking each row is intact: r·d + j at column j). */
async function readRowIds(options: CacheLoaderOptions): Promise<number[][]> {
  const loader = await CacheLoader.open(options);
  const batches: number[][] = [];
  try {
    for await (const batch of loader) {
      const { d } = loader;
      const ids: number[] = [];
      for (let row = 0; row < batch.length / d; row++) {
        const id = batch[row * d] / d;
        for (let j = 0; j < d; j++) if (batch[row * d + j] !== id * d + j) throw new Error(`row ${row} is not an intact cache row`);
        ids.push(id);
      }
      batches.push(ids);
    }
  } finally {
    await loader.close();
  }
  return batches;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("CacheLoader", () => {
  // 5 shards: 4 × 37 rows + 20 = 168 rows of width 4.
  let cache: TestCache;
  beforeAll(async () => {
    cache = await writeCache("small", { shards: 5, shardRows: 37, lastRows: 20, d: 4 });
  });
  const base = (): CacheLoaderOptions => ({ dir: cache.dir, hook: HOOK, batchSize: 16, bufferRows: 50, seed: 7 });

  it("covers every row exactly once per epoch, shuffled across shards, over several epochs", async () => {
    const batches = await readRowIds({ ...base(), epochs: 3 });
    const rows = batches.flat();
    expect(rows).toHaveLength(3 * cache.rows);
    expect(batches.slice(0, -1).every((batch) => batch.length === 16)).toBe(true);
    expect(batches.at(-1)).toHaveLength((3 * cache.rows) % 16);
    const shardOf = (id: number) => Math.floor(id / 37);
    for (let epoch = 0; epoch < 3; epoch++) {
      const block = rows.slice(epoch * cache.rows, (epoch + 1) * cache.rows);
      expect([...block].sort((a, b) => a - b)).toEqual(range(cache.rows));
      expect(block).not.toEqual(range(cache.rows));
      // The buffer holds at most bufferRows rows: the i-th row drawn was among the first i + 50 of the epoch's shard order.
      const order = new SequenceOrder(5, 7);
      const streamIndex = new Map<number, number>();
      let next = 0;
      for (let k = 0; k < 5; k++) {
        const shard = order.at(epoch * 5 + k);
        for (let r = 0; r < (shard === 4 ? 20 : 37); r++) streamIndex.set(shard * 37 + r, next++);
      }
      block.forEach((id, i) => expect(streamIndex.get(id)!).toBeLessThan(i + 50));
    }
    // Batches mix rows of different shards (the buffer spans shard boundaries).
    expect(batches.filter((batch) => new Set(batch.map(shardOf)).size > 1).length).toBeGreaterThan(batches.length / 2);
    // A new epoch's shard order differs (5! orders; seeded per epoch).
    const order = new SequenceOrder(5, 7);
    expect(range(5).map((k) => order.at(k))).not.toEqual(range(5).map((k) => order.at(5 + k)));
  });

  it("gives the same batches for the same seed (worker or not) and different ones for another seed", async () => {
    const first = await readRowIds({ ...base(), epochs: 2 });
    expect(await readRowIds({ ...base(), epochs: 2 })).toEqual(first);
    expect(await readRowIds({ ...base(), epochs: 2, worker: false })).toEqual(first);
    const other = await readRowIds({ ...base(), epochs: 2, seed: 8 });
    expect(other.flat()).not.toEqual(first.flat());
    expect([...other.flat()].sort((a, b) => a - b)).toEqual([...first.flat()].sort((a, b) => a - b));
  });

  it("serves any batch size per call, drops a short last batch on request, and stops at null", async () => {
    const loader = await CacheLoader.open({ ...base(), bufferRows: 7, dropLast: true });
    expect([loader.d, loader.hook, loader.rowsPerEpoch]).toEqual([4, HOOK, 168]);
    const sizes: number[] = [];
    for (const size of [1, 100, 60]) sizes.push((await loader.next(size))!.length / 4);
    expect(sizes).toEqual([1, 100, 60]);
    expect(await loader.next(16)).toBeNull(); // 7 rows left: dropped
    expect(await loader.next()).toBeNull();
    expect(loader.rowsRead).toBe(161);
    await loader.close();
    await expect(loader.next()).rejects.toThrow(/closed/);
  });

  it("skips batches exactly as reading them would", async () => {
    const all = await readRowIds({ ...base(), epochs: 2 });
    const loader = await CacheLoader.open({ ...base(), epochs: 2 });
    await loader.skipBatches(13);
    const batch = (await loader.next())!;
    expect(Array.from({ length: 16 }, (_, row) => batch[row * 4] / 4)).toEqual(all[13]);
    expect(loader.rowsRead).toBe(14 * 16);
    await expect(loader.next(0)).rejects.toThrow(/batch size must be a positive integer, got 0/);
    await expect(loader.skipBatches(100)).rejects.toThrow(/skip 100 batches of 16, the data ended after 7/);
    await loader.close();
  });

  it("widens a float16 cache", async () => {
    const half = await writeCache("half", { shards: 3, shardRows: 10, lastRows: 5, d: 8, dtype: "float16" });
    const rows = (await readRowIds({ dir: half.dir, hook: HOOK, batchSize: 6, bufferRows: 12, seed: 1 })).flat();
    expect(rows.sort((a, b) => a - b)).toEqual(range(25));
  });

  it("names the cache, the hook and both widths when the hook or d is not what the consumer wants", async () => {
    await expect(CacheLoader.open({ ...base(), hook: "blocks.1.hook_resid_post" })).rejects.toThrow(
      new RegExp(`no hook "blocks\\.1\\.hook_resid_post".*it holds ${HOOK.replace(/\./g, "\\.")}`),
    );
    const wrongD = CacheLoader.open({ ...base(), expectD: 128 });
    await expect(wrongD).rejects.toThrow(ActivationSourceError);
    await expect(CacheLoader.open({ ...base(), expectD: 128 })).rejects.toThrow(/manifest\.json: hook "blocks\.0\.hook_resid_post" has rows of width d = 4, the consumer expects d = 128/);
    await expect(CacheLoader.open({ ...base(), bufferRows: 0 })).rejects.toThrow(/bufferRows must be a positive integer, got 0/);
    await expect(CacheLoader.open({ ...base(), dir: path.join(root, "absent") })).rejects.toThrow(/absent.*manifest\.json/);
  });

  describe("corrupt shards", () => {
    /** Reads the whole epoch and returns the error, which must be a ShardError naming `file`. */
    async function readError(options: CacheLoaderOptions, file: string): Promise<string> {
      const error = await readRowIds(options).then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(ShardError);
      expect((error as ShardError).shard).toBe(file);
      expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
      return (error as Error).message;
    }

    it("detects a flipped byte by its SHA-256 and a truncated file by its size", async () => {
      const flipped = await writeCache("flipped", { shards: 4, shardRows: 12, d: 4 });
      const bytes = await readFile(flipped.files[2]);
      bytes[bytes.length >> 1] ^= 0x10;
      await writeFile(flipped.files[2], bytes);
      expect(await readError({ dir: flipped.dir, hook: HOOK, batchSize: 5, bufferRows: 10, seed: 3 }, flipped.files[2])).toMatch(/SHA-256 [0-9a-f]{64} differs/);

      const truncated = await writeCache("truncated", { shards: 4, shardRows: 12, d: 4 });
      await truncate(truncated.files[3], 100);
      const message = await readError({ dir: truncated.dir, hook: HOOK, batchSize: 5, bufferRows: 10, seed: 3, verify: false }, truncated.files[3]);
      expect(message).toMatch(/100 bytes, the manifest lists \d+/);
    });

    it("reports a truncated shard that its manifest matches as undecodable, and the error persists", async () => {
      const cut = await writeCache("cut", { shards: 3, shardRows: 12, d: 4 });
      const bytes = (await readFile(cut.files[0])).subarray(0, 300);
      await writeFile(cut.files[0], bytes);
      const manifest = structuredClone(cut.manifest);
      manifest.hooks[HOOK].shards[0] = { ...manifest.hooks[HOOK].shards[0], bytes: 300, sha256: createHash("sha256").update(bytes).digest("hex") };
      await writeFile(path.join(cut.dir, CACHE_MANIFEST), JSON.stringify(manifest));
      await readError({ dir: cut.dir, hook: HOOK, batchSize: 5, bufferRows: 10, seed: 3 }, cut.files[0]);

      const loader = await CacheLoader.open({ dir: cut.dir, hook: HOOK, batchSize: 40, bufferRows: 10, seed: 3 });
      await expect(loader.next()).rejects.toThrow(cut.files[0]);
      await expect(loader.next()).rejects.toThrow(cut.files[0]); // a failed loader stays failed
      await loader.close();
    });
  });
});

describe("CacheLoader peak memory", () => {
  const loaderUrl = pathToFileURL(fileURLToPath(new URL("../../data/loader.ts", import.meta.url))).href;
  // One child process runs the phases in order; each reads `epochs` of `dir` and reports the process's peak RSS
  // after every `every` rows (a peak only grows). With `hold` it also keeps every batch: what a loader without a
  // bound would hold. The consumer collects garbage every 8 batches, so the peaks show what the loader retains, not
  // when V8 frees batches the consumer dropped (it lets tens of MB of unreferenced ArrayBuffers wait for a GC).
  const script = `
    import { CacheLoader } from ${JSON.stringify(loaderUrl)};
    const phases = [];
    for (const phase of JSON.parse(process.argv[2])) {
      const loader = await CacheLoader.open({ dir: phase.dir, hook: ${JSON.stringify(HOOK)}, batchSize: 1024, bufferRows: phase.bufferRows, seed: 1, epochs: phase.epochs ?? 1 });
      const held = [];
      const peaks = [];
      let rows = 0;
      for (let batch = await loader.next(); batch !== null; batch = await loader.next()) {
        rows += batch.length / loader.d;
        if (phase.hold) held.push(batch);
        if (rows % 8192 === 0) globalThis.gc();
        if (rows % phase.every === 0) peaks.push(process.resourceUsage().maxRSS * 1024);
      }
      await loader.close();
      peaks.push(process.resourceUsage().maxRSS * 1024);
      phases.push({ rows, peaks });
      held.length = 0;
      globalThis.gc();
    }
    console.log(JSON.stringify(phases));
  `;
  type Phase = { dir: string; bufferRows: number; every: number; epochs?: number; hold?: boolean };
  const runPhases = async (phases: Phase[]): Promise<{ rows: number; peaks: number[] }[]> => {
    const file = path.join(root, "peak-rss.mts");
    await writeFile(file, script);
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const args = ["--expose-gc", "--import", tsx, file, JSON.stringify(phases)];
    const { stdout } = await promisify(execFile)(process.execPath, args, { env: { ...process.env, SAEC_THREADS: "1" } });
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as { rows: number; peaks: number[] }[];
  };

  it("stops growing once the buffer is full: reading a cache 8× the buffer twice adds nothing", async () => {
    const d = 128;
    const shardRows = 8192; // 4 MiB a shard
    const MiB = 2 ** 20;
    const [tiny, big] = await Promise.all([
      writeCache("rss-tiny", { shards: 1, shardRows: 64, d, identifiable: false }),
      writeCache("rss-big", { shards: 16, shardRows, d, identifiable: false }), // 64 MiB
    ]);
    const bufferRows = 16384; // 8 MiB
    const [bufferBytes, shardBytes, cacheBytes] = [bufferRows * d * 4, shardRows * d * 4, big.rows * d * 4];
    const quarter = big.rows / 4;
    const [baseline, streamed, held] = await runPhases([
      { dir: tiny.dir, bufferRows: 64, every: 64 }, // modules, tsx and a worker thread
      { dir: big.dir, bufferRows, every: quarter, epochs: 2 },
      { dir: big.dir, bufferRows, every: big.rows, hold: true },
    ]);
    expect([baseline.rows, streamed.rows, held.rows]).toEqual([64, 2 * big.rows, big.rows]);
    const base = baseline.peaks.at(-1)!;
    const growth = streamed.peaks.map((peak) => peak - base); // after each quarter of an epoch
    const heldGrowth = held.peaks.at(-1)! - base;
    console.log(`peak RSS growth by quarter epoch: ${growth.map((bytes) => (bytes / MiB).toFixed(1)).join(", ")} MiB; holding the batches: ${(heldGrowth / MiB).toFixed(1)} MiB (cache ${cacheBytes / MiB} MiB, buffer ${bufferBytes / MiB} MiB)`);
    // From half the first epoch (4 buffers read) to the end of the second the loader reads 96 MiB more and its peak
    // stays put; a loader keeping what it read would add 32 MiB by the end of the first epoch alone.
    expect(growth.at(-1)! - growth[1]).toBeLessThan(8 * MiB);
    // The buffer, three shards (the one copied into the buffer, the one read ahead, the worker's read buffer), and
    // a constant for the worker's heap at this shard size.
    expect(growth.at(-1)!).toBeLessThan(bufferBytes + 3 * shardBytes + 40 * MiB);
    // The measurement does see retained rows.
    expect(heldGrowth - growth.at(-1)!).toBeGreaterThan(cacheBytes / 2);
  }, 90_000);
});

describe("ModelActivationSource", () => {
  let tf: typeof tfTypes;
  let games: GameRow[];
  let model: Gpt;
  const config = tinyTrainConfig();
  const d = config.d_model;
  /** Reference rows: all games in one padded runWithCache; game g's row at every position i < min(moves, 59). */
  let reference: { row: Float32Array; token: number }[];
  beforeAll(async () => {
    tf = (await initTfjs()).tf;
    games = await tinyGames(9);
    model = createGpt(tf, config);
    const inputs = tokenSequences(config, games).inputs; // [games, 59]
    const tokens = tf.tensor2d(inputs, [games.length, config.n_ctx], "int32");
    const { logits, cache } = runWithCache(model, tokens, [HOOK]);
    const values = cache.get(HOOK)!.dataSync() as Float32Array; // [games, 59, d]
    tf.dispose([tokens, logits, ...cache.values()]);
    reference = games.flatMap((game, g) => range(Math.min(game.length, config.n_ctx)).map((i) => {
      const flat = g * config.n_ctx + i;
      return { row: values.slice(flat * d, (flat + 1) * d), token: inputs[flat] };
    }));
  });
  afterAll(() => {
    for (const variable of model.params.values()) variable.dispose();
  });

  async function readRows(source: ModelActivationSource): Promise<Float32Array[]> {
    const rows: Float32Array[] = [];
    for await (const batch of source) for (let r = 0; r < batch.length / d; r++) rows.push(batch.slice(r * d, (r + 1) * d));
    await source.close();
    return rows;
  }

  /** Each row matches a different expected row within float tolerance (runs of other shapes round differently). */
  function expectSameMultiset(rows: readonly Float32Array[], expected: readonly Float32Array[]): void {
    expect(rows).toHaveLength(expected.length);
    const used = new Uint8Array(expected.length);
    for (const row of rows) {
      const match = expected.findIndex((candidate, k) => !used[k] && candidate.every((value, j) => Math.abs(value - row[j]) <= 1e-4 * (1 + Math.abs(value))));
      expect(match).toBeGreaterThanOrEqual(0);
      used[match] = 1;
    }
  }

  it("yields, each epoch, exactly the rows runWithCache gives at the games' real positions, shuffled", async () => {
    const expected = reference.map(({ row }) => row);
    const source = new ModelActivationSource({ model, games, hook: HOOK, batchSize: 32, bufferRows: 100, seed: 5, epochs: 2, gamesPerRun: 4, expectD: d });
    expect([source.d, source.rowsPerEpoch]).toEqual([d, expected.length]);
    const rows = await readRows(source);
    expect(rows).toHaveLength(2 * expected.length);
    expectSameMultiset(rows.slice(0, expected.length), expected);
    expectSameMultiset(rows.slice(expected.length), expected);
    // Shuffled: the first batch is not the first game's first positions, and the epochs come in different orders.
    expect(rows.slice(0, 32).every((row, i) => row.every((value, j) => value === expected[i][j]))).toBe(false);
    expect(rows.slice(0, 32)).not.toEqual(rows.slice(expected.length, expected.length + 32));
  });

  it("keeps only the filtered positions, and is deterministic per seed", async () => {
    const kept = [19, 20, 27, 28, 35, 36, 37, 44]; // tokens of the squares around the centre
    const expected = reference.filter(({ token }) => kept.includes(token)).map(({ row }) => row);
    expect(expected.length).toBeGreaterThan(10);
    const options = { model, games, hook: HOOK, batchSize: 7, bufferRows: 16, seed: 9, gamesPerRun: 2, positionTokens: kept };
    const rows = await readRows(new ModelActivationSource(options));
    expectSameMultiset(rows, expected);
    expect(await readRows(new ModelActivationSource(options))).toEqual(rows);
    expect(await readRows(new ModelActivationSource({ ...options, seed: 10 }))).not.toEqual(rows);
  });

  it("names the hook and both widths when d is not what the consumer expects", () => {
    expect(() => new ModelActivationSource({ model, games, hook: HOOK, batchSize: 8, bufferRows: 8, seed: 1, expectD: 128 })).toThrow(/hook "blocks\.0\.hook_resid_post" has rows of width d = 16, the consumer expects d = 128/);
    expect(new ModelActivationSource({ model, games, hook: "blocks.0.mlp.hook_post", batchSize: 8, bufferRows: 8, seed: 1 }).d).toBe(config.d_mlp);
  });
});
