// The activation cache: values and metadata against the model's own runWithCache at every real position, row order
// and padding, the positions filter, shard boundaries, float16, reuse, resume after an abort and after a SIGKILL
// (byte-identical to an uninterrupted cache), and verify finding damaged shards by name.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDatasetDirectory } from "../../boards/dataset-directory.js";
import type { ChessGameRow, GameRow, OthelloGameRow } from "../../boards/game-dataset.js";
import { CHESS_VOCAB } from "../../boards/chess/tokenizer.js";
import { initTfjs } from "../../compute/tfjs.js";
import {
  CACHE_PROGRESS, cacheActivations, CacheParametersError, defaultCacheHook, UncacheableHookError, type CacheActivationsOptions,
} from "../../data/activation-cache.js";
import { CACHE_MANIFEST, readCacheManifest, type CacheManifest } from "../../data/cache-manifest.js";
import { cacheInfo, verifyCache } from "../../data/cache-inspect.js";
import { decodeShard, toFloat16Bits } from "../../data/shards.js";
import { parseGptConfig, presetConfig } from "../../model/config.js";
import { createGpt, disposeGpt, runWithCache, UnknownHookError, type Gpt } from "../../model/gpt.js";
import { widenF16 } from "../../model/safetensors.js";
import { tokenSequences } from "../../model/training-data.js";
import { tinyGames, tinyTrainConfig } from "../model/train-fixtures.js";
import { temporaryDirs } from "../temporary-dir.js";

let tf: typeof tfTypes;
let model: Gpt;
let games: OthelloGameRow[];
const temporaryDir = temporaryDirs("saec-cache-");
const SHA = "ab".repeat(32);
const HOOKS = ["blocks.0.hook_resid_post", "hook_embed", "blocks.0.attn.hook_z"]; // out of firing order on purpose

/** A game cut to its first `length` moves (so batches mix real lengths and padding). */
function shortened(row: OthelloGameRow, length: number): OthelloGameRow {
  return { ...row, moves: row.moves.slice(0, length), tokens: row.tokens.slice(0, length), length };
}

beforeAll(async () => {
  tf = (await initTfjs()).tf;
  model = createGpt(tf, tinyTrainConfig(11));
  const generated = (await tinyGames(24, 5)) as OthelloGameRow[];
  games = generated.map((row, i) => (i % 5 === 1 ? shortened(row, 3 + 4 * i) : i % 7 === 2 ? shortened(row, 1) : row));
});
afterAll(async () => {
  disposeGpt(model);
});

const options = (out: string, overrides: Partial<CacheActivationsOptions> = {}): CacheActivationsOptions => ({
  model, modelSha256: SHA, modelName: "tiny-othello", rows: games, datasetId: "hash:train", split: "train",
  hooks: HOOKS, out, shardRows: 100, batchSize: 5, ...overrides,
});

/** Every row of one hook, shards concatenated in order. */
async function hookRows(dir: string, manifest: CacheManifest, hook: string) {
  const d = manifest.hooks[hook].d;
  const activations = new Float32Array(manifest.rows * d);
  const gameIds: string[] = [];
  const positions: number[] = [];
  const tokens: number[] = [];
  let row = 0;
  for (const [index, entry] of manifest.hooks[hook].shards.entries()) {
    const shard = decodeShard(await readFile(path.join(dir, entry.file)), entry.file);
    expect(shard.metadata).toEqual({ hook, model_sha256: SHA, d, dtype: manifest.dtype, dataset_id: "hash:train", shard_index: index });
    activations.set(shard.activations, row * d);
    gameIds.push(...shard.gameIds);
    positions.push(...shard.positions);
    tokens.push(...shard.tokens);
    row += shard.rows;
  }
  return { activations, gameIds, positions, tokens, d };
}

/**
 * The reference: runWithCache over the same batches (consecutive groups of `batchSize` games, padded to n_ctx; the
 * kernels' last bits depend on the batch shape), rows at positions < min(length, 59).
 */
function expectedRows(rows: readonly GameRow[], hook: string, batchSize: number) {
  const T = model.config.n_ctx;
  const values: number[] = [];
  const ids: string[] = [];
  const positions: number[] = [];
  const tokens: number[] = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const inputs = tokenSequences(model.config, batch).inputs;
    const { logits, cache } = runWithCache(model, tf.tensor2d(inputs, [batch.length, T], "int32"), [hook]);
    const data = cache.get(hook)!.dataSync();
    const width = data.length / (batch.length * T);
    tf.dispose([logits, ...cache.values()]);
    batch.forEach((row, b) => {
      for (let i = 0; i < Math.min(row.length, T); i++) {
        values.push(...data.subarray((b * T + i) * width, (b * T + i + 1) * width));
        ids.push(row.gameId);
        positions.push(i);
        tokens.push(inputs[b * T + i]);
      }
    });
  }
  return { values: Float32Array.from(values), ids, positions, tokens };
}

/** Relative path → bytes of every file under dir. */
async function tree(dir: string, prefix = ""): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) for (const [name, bytes] of await tree(dir, relative)) files.set(name, bytes);
    else files.set(relative, await readFile(path.join(dir, relative)));
  }
  return files;
}

describe("cacheActivations", () => {
  it("stores exactly runWithCache's activations at every real position, in game then position order, in fixed-row shards", async () => {
    const out = await temporaryDir();
    const progress: number[] = [];
    const result = await cacheActivations(options(out, { onProgress: (done) => progress.push(done) }));
    expect(result).toMatchObject({ reused: false, resumedShards: 0 });
    const manifest = await readCacheManifest(out);
    expect(manifest).toEqual(result.manifest);
    const realRows = games.reduce((sum, row) => sum + Math.min(row.length, 59), 0);
    expect(games.some((row) => row.length < 10)).toBe(true); // padding is present in some batches
    expect(manifest.rows).toBe(realRows);
    expect(progress.at(-1)).toBe(realRows);
    expect(manifest).toMatchObject({
      format: "sae-circuits.activations", format_version: 1, dtype: "float32", shard_rows: 100, positions: { tokens: null },
      model: { name: "tiny-othello", sha256: SHA, d_model: 16, n_ctx: 59 },
      dataset: { id: "hash:train", split: "train", games: games.length },
    });
    expect(Object.keys(manifest.hooks)).toEqual(["hook_embed", "blocks.0.attn.hook_z", "blocks.0.hook_resid_post"]);
    expect(manifest.hooks["blocks.0.attn.hook_z"].d).toBe(2 * 8); // H·d_head
    expect(existsSync(path.join(out, CACHE_PROGRESS))).toBe(false);

    for (const hook of HOOKS) {
      const entries = manifest.hooks[hook].shards;
      expect(entries.length).toBe(Math.ceil(realRows / 100));
      entries.forEach((entry, k) => {
        expect(entry.file).toBe(`${hook}/shard-${String(k).padStart(5, "0")}.arrow`);
        expect(entry.rows).toBe(k < entries.length - 1 ? 100 : realRows - 100 * k);
      });
      const stored = await hookRows(out, manifest, hook);
      const expected = expectedRows(games, hook, 5);
      expect(stored.gameIds).toEqual(expected.ids);
      expect(stored.positions).toEqual(expected.positions);
      expect(stored.tokens).toEqual(expected.tokens);
      expect(stored.activations.length).toBe(expected.values.length);
      let mismatches = 0;
      for (let i = 0; i < expected.values.length; i++) if (stored.activations[i] !== expected.values[i]) mismatches++;
      expect(mismatches, hook).toBe(0);
      const norms = Array.from({ length: manifest.rows }, (_, r) =>
        Math.sqrt(Array.from(expected.values.subarray(r * stored.d, (r + 1) * stored.d)).reduce((sum, x) => sum + x * x, 0)));
      expect(manifest.hooks[hook].stats.mean_norm).toBeCloseTo(norms.reduce((a, b) => a + b, 0) / norms.length, 10);
      expect(manifest.hooks[hook].stats.max_norm).toBeCloseTo(Math.max(...norms), 10);
      expect(manifest.hooks[hook].stats.min_norm).toBeCloseTo(Math.min(...norms), 10);
    }

    const info = await cacheInfo(out);
    expect(info.rows).toBe(realRows);
    expect(info.hooks.map((hook) => [hook.hook, hook.d, hook.shards])).toEqual([
      ["hook_embed", 16, Math.ceil(realRows / 100)], ["blocks.0.attn.hook_z", 16, Math.ceil(realRows / 100)], ["blocks.0.hook_resid_post", 16, Math.ceil(realRows / 100)],
    ]);
    let bytes = 0;
    for (const hook of HOOKS) for (const entry of manifest.hooks[hook].shards) bytes += (await stat(path.join(out, entry.file))).size;
    expect(info.bytes).toBe(bytes);
    expect(await verifyCache(out)).toEqual([]);
  });

  it("gives the same rows whatever the shard size", async () => {
    const [a, b] = [await temporaryDir(), await temporaryDir()];
    const hooks = ["blocks.0.mlp.hook_post"];
    const first = (await cacheActivations(options(a, { hooks, shardRows: 37 }))).manifest;
    const second = (await cacheActivations(options(b, { hooks, shardRows: 5000 }))).manifest;
    expect(first.hooks[hooks[0]].shards.length).toBe(Math.ceil(first.rows / 37));
    expect(second.hooks[hooks[0]].shards.length).toBe(1);
    const [rowsA, rowsB] = [await hookRows(a, first, hooks[0]), await hookRows(b, second, hooks[0])];
    expect(rowsA.d).toBe(32);
    expect(Buffer.from(rowsA.activations.buffer).equals(Buffer.from(rowsB.activations.buffer))).toBe(true);
    expect(rowsA.gameIds).toEqual(rowsB.gameIds);
  });

  it("keeps only positions whose input token is listed, in order", async () => {
    const [all, filtered] = [await temporaryDir(), await temporaryDir()];
    const hook = "blocks.0.hook_resid_post";
    const keep = [games[0].tokens[0], games[0].tokens[5], games[3].tokens[10]];
    const full = (await cacheActivations(options(all, { hooks: [hook] }))).manifest;
    const some = (await cacheActivations(options(filtered, { hooks: [hook], positionTokens: keep, shardRows: 7 }))).manifest;
    expect(some.positions.tokens).toEqual(keep);
    const [fullRows, someRows] = [await hookRows(all, full, hook), await hookRows(filtered, some, hook)];
    const picked = fullRows.tokens.flatMap((token, r) => (keep.includes(token) ? [r] : []));
    expect(picked.length).toBeGreaterThan(3);
    expect(some.rows).toBe(picked.length);
    expect(someRows.positions).toEqual(picked.map((r) => fullRows.positions[r]));
    expect(someRows.gameIds).toEqual(picked.map((r) => fullRows.gameIds[r]));
    const expected = new Float32Array(picked.length * 16);
    picked.forEach((r, i) => expected.set(fullRows.activations.subarray(r * 16, (r + 1) * 16), i * 16));
    expect(someRows.activations).toEqual(expected);
  });

  it("keeps chess '.' positions (token 4) below n_ctx", async () => {
    const chessModel = createGpt(tf, parseGptConfig({
      format: "sae-circuits.gpt", format_version: 1, model_name: "tiny-chess", game: "chess", tokenizer: "chess-32",
      n_layers: 1, d_model: 8, n_heads: 2, d_head: 4, d_mlp: 16, d_vocab: 32, n_ctx: 20, pad_token_id: 0, seed: 3,
    }));
    const movetexts = [";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6 4.Ba4", ";1.d4", ";1.c4 e5 2.g3"];
    const rows: ChessGameRow[] = movetexts.map((moves, i) => ({
      game: "chess", source: "pgn", gameId: `c-0-${i}`, moves, nChars: moves.length, tokens: null, length: 0, seed: null, meta: "{}", result: "*", split: "train",
    }));
    const out = await temporaryDir();
    const dot = CHESS_VOCAB.indexOf(".");
    expect(dot).toBe(4);
    const { manifest } = await cacheActivations({ ...options(out, { hooks: ["blocks.0.hook_resid_post"], positionTokens: [dot] }), model: chessModel, rows });
    const stored = await hookRows(out, manifest, "blocks.0.hook_resid_post");
    const expected = movetexts.flatMap((text, g) => [...text.slice(0, 20)].flatMap((char, i) => (char === "." ? [[`c-0-${g}`, i]] : [])));
    expect(stored.gameIds.map((id, r) => [id, stored.positions[r]])).toEqual(expected);
    expect(stored.tokens.every((token) => token === dot)).toBe(true);
    disposeGpt(chessModel);
  });

  it("stores float16 within half precision of the float32 values", async () => {
    const [f32, f16] = [await temporaryDir(), await temporaryDir()];
    const hook = "blocks.0.hook_resid_post";
    const wide = (await cacheActivations(options(f32, { hooks: [hook] }))).manifest;
    const half = (await cacheActivations(options(f16, { hooks: [hook], dtype: "float16" }))).manifest;
    expect(half.dtype).toBe("float16");
    const [a, b] = [(await hookRows(f32, wide, hook)).activations, (await hookRows(f16, half, hook)).activations];
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), 2 ** -14));
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    const shardBytes = (m: CacheManifest) => m.hooks[hook].shards.reduce((sum, s) => sum + s.bytes, 0);
    expect(shardBytes(half)).toBeLessThan(0.7 * shardBytes(wide));
  });

  it("picks the default site by depth, and refuses unknown and per-pair hooks naming the valid ones", async () => {
    expect(defaultCacheHook(presetConfig("othello-4l-128", 1))).toBe("blocks.2.hook_resid_post");
    expect(defaultCacheHook(parseGptConfig({ ...presetConfig("othello-4l-128", 1), n_layers: 8 }))).toBe("blocks.5.hook_resid_post");
    const out = await temporaryDir();
    await expect(cacheActivations(options(out, { hooks: ["blocks.0.hook_resid_psot"] }))).rejects.toThrow(UnknownHookError);
    await expect(cacheActivations(options(out, { hooks: ["blocks.0.hook_resid_psot"] }))).rejects.toThrow(/valid hook names: .*blocks\.0\.hook_resid_post/);
    await expect(cacheActivations(options(out, { hooks: ["blocks.0.attn.hook_pattern"] }))).rejects.toThrow(UncacheableHookError);
    await expect(cacheActivations(options(out, { hooks: ["blocks.0.attn.hook_attn_scores"] }))).rejects.toThrow(/\[B, 2, T, T\].*cacheable hooks: .*blocks\.0\.attn\.hook_z/);
    expect(await readdir(out)).toEqual([]);
  });

  it("reuses a finished cache without work and refuses one made with other parameters", async () => {
    const out = await temporaryDir();
    const first = await cacheActivations(options(out, { hooks: ["hook_embed"] }));
    const manifestFile = path.join(out, CACHE_MANIFEST);
    const before = (await stat(manifestFile)).mtimeMs;
    let ran = false;
    const again = await cacheActivations(options(out, { hooks: ["hook_embed"], onProgress: () => (ran = true) }));
    expect(again).toEqual({ manifest: first.manifest, reused: true, resumedShards: 0 });
    expect(ran).toBe(false);
    expect((await stat(manifestFile)).mtimeMs).toBe(before);
    await expect(cacheActivations(options(out, { hooks: ["hook_embed"], shardRows: 50 }))).rejects.toThrow(CacheParametersError);
    await expect(cacheActivations(options(out, { hooks: ["hook_embed"], dtype: "float16" }))).rejects.toThrow(/dtype: "float32" there, "float16" asked.*choose another --out/);
    await expect(cacheActivations(options(out, { hooks: ["hook_embed"], modelSha256: "cd".repeat(32) }))).rejects.toThrow(/model sha256/);
  });

  it("resumes after an abort from the first damaged shard and ends byte-identical to an uninterrupted cache", async () => {
    const [clean, interrupted] = [await temporaryDir(), await temporaryDir()];
    const settings = { hooks: ["hook_embed", "blocks.0.hook_resid_post"], shardRows: 64, batchSize: 4 };
    await cacheActivations(options(clean, settings));
    const abort = new AbortController();
    let batches = 0;
    await expect(cacheActivations(options(interrupted, { ...settings, signal: abort.signal, onProgress: () => ++batches === 4 && abort.abort(new Error("stop")) }))).rejects.toThrow("stop");
    const progress = JSON.parse(await readFile(path.join(interrupted, CACHE_PROGRESS), "utf8")) as { shards: unknown[] };
    expect(progress.shards.length).toBeGreaterThanOrEqual(2);
    expect(existsSync(path.join(interrupted, CACHE_MANIFEST))).toBe(false);
    // Damage shard 1 of one hook: the resumed run keeps shard 0 only and recomputes the rest.
    const damaged = path.join(interrupted, "blocks.0.hook_resid_post", "shard-00001.arrow");
    const bytes = await readFile(damaged);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(damaged, bytes);
    await writeFile(path.join(interrupted, "hook_embed", ".shard-00009.arrow.0badf00d.tmp"), "left by a kill");
    const resumed = await cacheActivations(options(interrupted, settings));
    expect(resumed.resumedShards).toBe(1);
    const [a, b] = [await tree(clean), await tree(interrupted)];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, content] of a) expect(b.get(name)!.equals(content), name).toBe(true);
  });

  it("resumes after a SIGKILL mid-run and ends byte-identical to an uninterrupted cache", async () => {
    const datasetDir = path.join(await temporaryDir(), "games");
    const rows = (await tinyGames(120, 9)) as OthelloGameRow[];
    await writeDatasetDirectory(datasetDir, "othello", rows, { test: true });
    const train = rows.filter((row) => row.split === "train");
    const settings = { hooks: ["hook_embed", "blocks.0.hook_resid_post"], shardRows: 150, batchSize: 3 };
    const killedModel = createGpt(tf, tinyTrainConfig());
    const common = {
      model: killedModel, modelSha256: "0".repeat(64), modelName: "tiny-othello", rows: train, datasetId: "fixture:train", split: "train", ...settings,
    };
    const clean = await temporaryDir();
    const total = (await cacheActivations({ ...common, out: clean })).manifest.hooks.hook_embed.shards.length;
    expect(total).toBeGreaterThan(8);

    const killed = await temporaryDir();
    const child = spawn(process.execPath, ["--import", "tsx", path.resolve("test/data/fixture-cache.ts"), datasetDir, killed, JSON.stringify({ ...settings, delayMs: 15 })], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    let done = false;
    void exited.then(() => (done = true));
    let shards = 0;
    for (let waited = 0; waited < 60_000 && shards < 3 && !done; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const text = await readFile(path.join(killed, CACHE_PROGRESS), "utf8").catch(() => "");
      if (text !== "") shards = (JSON.parse(text) as { shards: unknown[] }).shards.length;
    }
    child.kill("SIGKILL");
    await exited;
    expect(shards >= 3 ? "" : stderr, "the child ended before it was killed").toBe("");
    expect(existsSync(path.join(killed, CACHE_MANIFEST))).toBe(false);

    const resumed = await cacheActivations({ ...common, out: killed });
    expect(resumed.resumedShards).toBeGreaterThanOrEqual(3);
    expect(resumed.resumedShards).toBeLessThan(total);
    const [a, b] = [await tree(clean), await tree(killed)];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, content] of a) expect(b.get(name)!.equals(content), name).toBe(true);
    disposeGpt(killedModel);
  }, 120_000);
});

describe("verifyCache", () => {
  it("names a shard with a flipped byte, a truncated shard and a missing one", async () => {
    const out = await temporaryDir();
    const { manifest } = await cacheActivations(options(out, { hooks: ["hook_embed", "blocks.0.hook_resid_post"] }));
    expect(await verifyCache(out)).toEqual([]);
    const [flipped, cut] = [manifest.hooks.hook_embed.shards[1].file, manifest.hooks["blocks.0.hook_resid_post"].shards[2].file];
    const gone = manifest.hooks.hook_embed.shards[0].file;
    const bytes = await readFile(path.join(out, flipped));
    bytes[bytes.length - 200] ^= 0x01;
    await writeFile(path.join(out, flipped), bytes);
    await truncate(path.join(out, cut), 300);
    await rm(path.join(out, gone));
    const problems = await verifyCache(out);
    const about = (file: string) => problems.filter((p) => p.file === file).map((p) => p.problem);
    expect(about(flipped).some((p) => /SHA-256/.test(p))).toBe(true);
    expect(about(cut).some((p) => /300 bytes, the manifest says/.test(p))).toBe(true);
    expect(about(cut).some((p) => /cannot be decoded/.test(p))).toBe(true);
    expect(about(gone)).toEqual(["missing"]);
    expect(new Set(problems.map((p) => p.file))).toEqual(new Set([flipped, cut, gone]));
  });

  it("reports shard metadata that disagrees with the manifest", async () => {
    const out = await temporaryDir();
    const { manifest } = await cacheActivations(options(out, { hooks: ["hook_embed"] }));
    const edited = structuredClone(manifest);
    edited.dataset.id = "other:train";
    await writeFile(path.join(out, CACHE_MANIFEST), JSON.stringify(edited));
    const problems = await verifyCache(out);
    expect(problems.length).toBe(manifest.hooks.hook_embed.shards.length);
    expect(problems[0]).toEqual({ file: "hook_embed/shard-00000.arrow", problem: 'metadata dataset_id is "hash:train", the manifest says "other:train"' });
  });
});

describe("toFloat16Bits (data/shards.ts)", () => {
  it("rounds to the nearest half, ties to even, carrying into the exponent, overflowing to infinity", () => {
    // Reference: every non-negative finite half, found by binary search; exact ties go to the even bit pattern.
    const halves = widenF16(Uint16Array.from({ length: 0x7c00 }, (_, bits) => bits));
    const nearest = (x: number): number => {
      if (Number.isNaN(x)) return 0x7e00;
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      const magnitude = Math.abs(x);
      if (magnitude >= 65520) return sign | 0x7c00; // 65504 + half an ulp rounds up to infinity
      let [low, high] = [0, 0x7bff];
      while (high - low > 1) {
        const middle = (low + high) >> 1;
        if (halves[middle] <= magnitude) low = middle;
        else high = middle;
      }
      const [below, above] = [magnitude - halves[low], halves[high] - magnitude];
      return sign | (below < above ? low : above < below ? high : low % 2 === 0 ? low : high);
    };
    const random = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const next = random(7);
    const values = [0, -0, 1, 1.9999, 0.99999, 0.031246107071638107, -0.00012204772792756557, 65504, 65519, 65520, 1e6, -Infinity, NaN, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14 - 2 ** -30, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    for (let i = 0; i < 4000; i++) values.push((next() - 0.5) * 2 ** Math.floor(next() * 40 - 28));
    const input = Float32Array.from(values);
    const got = toFloat16Bits(input);
    for (let i = 0; i < input.length; i++) expect(got[i], `${input[i]}`).toBe(nearest(input[i]));
  });
});
