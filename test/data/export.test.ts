// Parquet export of an activation cache, read back with parquet-wasm: the same rows and values as the shards
// (float16 widened), FixedSizeList<Float32>[d] activations, one row group per shard, key-value metadata.

import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as arrow from "apache-arrow";
import { ParquetFile, readParquet } from "parquet-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OthelloGameRow } from "../../boards/game-dataset.js";
import { initTfjs } from "../../compute/tfjs.js";
import { cacheActivations } from "../../data/activation-cache.js";
import type { CacheManifest } from "../../data/cache-manifest.js";
import { exportCacheToParquet, exportFile } from "../../data/export.js";
import { decodeShard } from "../../data/shards.js";
import { createGpt, disposeGpt, type Gpt } from "../../model/gpt.js";
import { tinyGames, tinyTrainConfig } from "../model/train-fixtures.js";
import { temporaryDirs } from "../temporary-dir.js";

let model: Gpt;
let games: OthelloGameRow[];
const temporaryDir = temporaryDirs("saec-export-");
const HOOKS = ["hook_embed", "blocks.0.mlp.hook_post"];

beforeAll(async () => {
  const { tf } = await initTfjs();
  model = createGpt(tf, tinyTrainConfig(4));
  games = (await tinyGames(12, 2)) as OthelloGameRow[];
});
afterAll(async () => {
  disposeGpt(model);
});

async function makeCache(dtype: "float32" | "float16"): Promise<{ dir: string; manifest: CacheManifest }> {
  const dir = await temporaryDir();
  const { manifest } = await cacheActivations({
    model, modelSha256: "12".repeat(32), modelName: "tiny-othello", rows: games, datasetId: "hash:val", split: "val",
    hooks: HOOKS, out: dir, shardRows: 150, batchSize: 4, dtype,
  });
  return { dir, manifest };
}

describe("exportCacheToParquet", () => {
  for (const dtype of ["float32", "float16"] as const) {
    it(`writes one Parquet file per hook holding the shards' rows (${dtype} cache)`, async () => {
      const { dir, manifest } = await makeCache(dtype);
      const out = await temporaryDir();
      expect(await exportCacheToParquet(dir, out)).toEqual(HOOKS.map((hook) => exportFile(out, hook)));
      for (const hook of HOOKS) {
        const { d, shards } = manifest.hooks[hook];
        const bytes = await readFile(exportFile(out, hook));
        const table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
        expect(table.numRows).toBe(manifest.rows);
        expect(table.schema.fields.map((field) => [field.name, String(field.type)])).toEqual([
          ["activation", `FixedSizeList[${d}]<Float32>`], ["game_id", "Utf8"], ["position", "Int32"], ["token", "Int32"],
        ]);
        // Expected: the shards decoded one after another (float16 widened by decodeShard).
        const activations = new Float32Array(manifest.rows * d);
        const ids: string[] = [];
        const positions: number[] = [];
        const tokens: number[] = [];
        let row = 0;
        for (const entry of shards) {
          const shard = decodeShard(await readFile(path.join(dir, entry.file)), entry.file);
          activations.set(shard.activations, row * d);
          ids.push(...shard.gameIds);
          positions.push(...shard.positions);
          tokens.push(...shard.tokens);
          row += shard.rows;
        }
        const exported = new Float32Array(manifest.rows * d);
        for (let r = 0; r < manifest.rows; r++) exported.set((table.getChild("activation")!.get(r) as arrow.Vector).toArray() as Float32Array, r * d);
        expect(Buffer.from(exported.buffer).equals(Buffer.from(activations.buffer))).toBe(true);
        expect(table.getChild("game_id")!.toArray()).toEqual(ids);
        expect(Array.from(table.getChild("position")!.toArray() as Int32Array)).toEqual(positions);
        expect(Array.from(table.getChild("token")!.toArray() as Int32Array)).toEqual(tokens);

        const file = await ParquetFile.fromFile(new Blob([bytes]));
        const metadata = file.metadata();
        expect(metadata.numRowGroups()).toBe(shards.length);
        const keyValues = Object.fromEntries(metadata.fileMetadata().keyValueMetadata());
        expect(keyValues).toMatchObject({
          "sae_circuits.hook": hook, "sae_circuits.model_sha256": "12".repeat(32), "sae_circuits.model_name": "tiny-othello",
          "sae_circuits.d": String(d), "sae_circuits.dtype": "float32", "sae_circuits.cache_dtype": dtype,
          "sae_circuits.dataset_id": "hash:val", "sae_circuits.split": "val", "sae_circuits.rows": String(manifest.rows),
          "sae_circuits.position_tokens": "null",
        });
      }
    });
  }

  it("exports one hook on request, refuses an unknown hook, and refuses a damaged shard naming it", async () => {
    const { dir, manifest } = await makeCache("float32");
    const out = await temporaryDir();
    expect(await exportCacheToParquet(dir, out, ["blocks.0.mlp.hook_post"])).toEqual([exportFile(out, "blocks.0.mlp.hook_post")]);
    await expect(exportCacheToParquet(dir, out, ["blocks.0.hook_resid_post"])).rejects.toThrow(/no hook "blocks\.0\.hook_resid_post"; it has hook_embed, blocks\.0\.mlp\.hook_post/);
    const damaged = manifest.hooks.hook_embed.shards[1].file;
    const bytes = await readFile(path.join(dir, damaged));
    bytes[100] ^= 0x10;
    await writeFile(path.join(dir, damaged), bytes);
    const failed = await temporaryDir();
    await expect(exportCacheToParquet(dir, failed, ["hook_embed"])).rejects.toThrow(`${damaged}: does not match`);
    expect(await readdir(failed)).toEqual([]); // no partial file left behind
  });
});
