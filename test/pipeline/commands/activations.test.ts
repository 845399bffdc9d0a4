// `saec activations …`: cache (default hook, reuse, float16 and a positions filter, refusals), info, verify (exit
// code 1 and one line per damaged shard) and export.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDatasetManifest, writeDatasetDirectory } from "../../../boards/dataset-directory.js";
import type { OthelloGameRow } from "../../../boards/game-dataset.js";
import { initTfjs } from "../../../compute/tfjs.js";
import { readCacheManifest } from "../../../data/cache-manifest.js";
import { MODEL_WEIGHTS_FILE, saveGpt } from "../../../model/checkpoint.js";
import { createGpt, disposeGpt } from "../../../model/gpt.js";
import { addActivationsCommands } from "../../../pipeline/commands/activations.js";
import { tinyGames, tinyTrainConfig } from "../../model/train-fixtures.js";
import { runCommand } from "./run-command.js";

let root: string;
let games: string;
let checkpoint: string;
let trainGames: OthelloGameRow[];
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "saec-activations-cmd-"));
  games = path.join(root, "games");
  const rows = (await tinyGames(40, 6)) as OthelloGameRow[];
  trainGames = rows.filter((row) => row.split === "train");
  await writeDatasetDirectory(games, "othello", rows, {});
  checkpoint = path.join(root, "model");
  const { tf } = await initTfjs();
  const model = createGpt(tf, tinyTrainConfig(2));
  await saveGpt(model, checkpoint);
  disposeGpt(model);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const activations = async (...args: string[]) => (await runCommand("activations", addActivationsCommands, args)).stdout;

describe("saec activations", () => {
  it("caches the default hook, reuses the finished cache, describes, verifies and exports it", async () => {
    const out = path.join(root, "cache");
    const args = ["cache", "--model", checkpoint, "--games", games, "--out", out, "--shard-rows", "200", "--max-games", "10", "--batch-size", "4"];
    const rows = trainGames.slice(0, 10).reduce((sum, row) => sum + Math.min(row.length, 59), 0);
    expect(await activations(...args)).toBe(`${out}: ${rows} rows × 1 hook(s), written\n`);
    const manifest = await readCacheManifest(out);
    expect(Object.keys(manifest.hooks)).toEqual(["blocks.0.hook_resid_post"]); // 1 layer: the last residual stream
    expect(manifest.dataset).toEqual({ id: `${(await readDatasetManifest(games)).contentHash}:train`, split: "train", games: 10 });
    expect(manifest.model.sha256).toBe(createHash("sha256").update(await readFile(path.join(checkpoint, MODEL_WEIGHTS_FILE))).digest("hex"));
    expect(manifest.model.name).toBe("tiny-othello");
    expect(await activations(...args)).toBe(`${out}: ${rows} rows × 1 hook(s), reused (already complete)\n`);
    await expect(activations(...args, "--float16")).rejects.toThrow(/dtype.*choose another --out/);

    const info = await activations("info", out);
    expect(info).toContain(`${rows.toLocaleString("en-US")} rows per hook, float32`);
    expect(info).toMatch(new RegExp(`blocks\\.0\\.hook_resid_post\\s+\\[${rows}, 16\\]  ${Math.ceil(rows / 200)} shard\\(s\\)`));
    expect(JSON.parse(await activations("info", out, "--json"))).toMatchObject({ rows, shardRows: 200, dtype: "float32", positionTokens: null });

    expect(await activations("verify", out)).toBe(`${out}: ok (${Math.ceil(rows / 200)} shards of 1 hook(s), ${rows} rows each)\n`);
    const damaged = manifest.hooks["blocks.0.hook_resid_post"].shards[1].file;
    const bytes = await readFile(path.join(out, damaged));
    bytes[bytes.length >> 1] ^= 0x40;
    await writeFile(path.join(out, damaged), bytes);
    try {
      const lines = (await activations("verify", out)).trim().split("\n");
      expect(process.exitCode).toBe(1);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const line of lines) expect(line.startsWith(`${path.join(out, damaged)}: `)).toBe(true);
      expect(lines.some((line) => /SHA-256/.test(line))).toBe(true);
    } finally {
      process.exitCode = 0;
    }

    const exported = path.join(root, "parquet");
    bytes[bytes.length >> 1] ^= 0x40; // repaired
    await writeFile(path.join(out, damaged), bytes);
    expect(await activations("export", out, "--out", exported, "--hook", "blocks.0.hook_resid_post")).toBe(`${path.join(exported, "blocks.0.hook_resid_post.parquet")}\n`);
    expect(existsSync(path.join(exported, "blocks.0.hook_resid_post.parquet"))).toBe(true);
  });

  it("stores float16 with a positions filter and several hooks, and refuses bad hooks", async () => {
    const out = path.join(root, "filtered");
    const token = trainGames[0].tokens[2];
    const text = await activations(
      "cache", "--model", checkpoint, "--games", games, "--out", out, "--hooks", "blocks.0.attn.hook_z,hook_embed", "--float16",
      "--positions-tokens", `${token}`, "--max-games", "12",
    );
    const manifest = await readCacheManifest(out);
    expect(text).toBe(`${out}: ${manifest.rows} rows × 2 hook(s), written\n`);
    const expected = trainGames.slice(0, 12).reduce((sum, row) => sum + Array.from(row.tokens.slice(0, 59)).filter((t) => t === token).length, 0);
    expect(manifest.rows).toBe(expected);
    expect(manifest).toMatchObject({ dtype: "float16", positions: { tokens: [token] } });
    expect(Object.keys(manifest.hooks)).toEqual(["hook_embed", "blocks.0.attn.hook_z"]);
    const base = ["cache", "--model", checkpoint, "--games", games, "--out", path.join(root, "bad"), "--max-games", "2"];
    await expect(activations(...base, "--hooks", "blocks.3.hook_resid_post")).rejects.toThrow(/unknown hook "blocks\.3\.hook_resid_post"; valid hook names: hook_embed/);
    await expect(activations(...base, "--hooks", "blocks.0.attn.hook_pattern")).rejects.toThrow(/one value per pair of positions/);
    await expect(activations(...base, "--positions-tokens", "4,x")).rejects.toThrow(/--positions-tokens: expected an integer, found "x"/);
  });
});
