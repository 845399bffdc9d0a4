import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  DatasetDirectoryError,
  readDatasetDirectory,
  readDatasetManifest,
  writeDatasetDirectory,
} from "../../boards/dataset-directory.js";
import { GameDatasetError, writeGameDataset } from "../../boards/game-dataset.js";
import { generateOthelloGames } from "../../boards/othello/generate.js";

async function temporaryDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "saec-dataset-"));
}

describe("game dataset directory", () => {
  it("writes one file per split and a manifest, and reads every split back", async () => {
    const rows = await generateOthelloGames({ count: 400, seed: 3, workers: 1 });
    const dir = await temporaryDir();
    const manifest = await writeDatasetDirectory(dir, "othello", rows, { seed: 3 });
    expect(manifest.counts.train + manifest.counts.val + manifest.counts.test).toBe(400);
    expect(manifest.counts.train).toBe(rows.filter((row) => row.split === "train").length);
    expect(manifest.files).toEqual({ train: "train.parquet", val: "val.parquet", test: "test.parquet" });
    expect(await readDatasetManifest(dir)).toEqual(manifest);
    const back = await readDatasetDirectory(dir);
    expect(back.map((row) => row.gameId).sort()).toEqual(rows.map((row) => row.gameId).sort());
    const val = await readDatasetDirectory(dir, ["val"]);
    expect(val.every((row) => row.split === "val")).toBe(true);
    expect(val.length).toBe(manifest.counts.val);
  });

  it("gives equal datasets equal content hashes, and different ones different hashes", async () => {
    const rows = await generateOthelloGames({ count: 100, seed: 5, workers: 1 });
    const other = await generateOthelloGames({ count: 100, seed: 6, workers: 1 });
    const [a, b, c] = [await temporaryDir(), await temporaryDir(), await temporaryDir()];
    const hashA = (await writeDatasetDirectory(a, "othello", rows, {})).contentHash;
    expect((await writeDatasetDirectory(b, "othello", rows, {})).contentHash).toBe(hashA);
    expect((await writeDatasetDirectory(c, "othello", other, {})).contentHash).not.toBe(hashA);
    expect(await readFile(path.join(a, "train.parquet"))).toEqual(await readFile(path.join(b, "train.parquet")));
  });

  it("names the directory when the manifest is missing or disagrees with a file", async () => {
    const dir = await temporaryDir();
    await expect(readDatasetDirectory(dir)).rejects.toThrow(DatasetDirectoryError);
    await expect(readDatasetDirectory(dir)).rejects.toThrow(`${dir}: not a game dataset`);
    const rows = await generateOthelloGames({ count: 50, seed: 1, workers: 1 });
    await writeDatasetDirectory(dir, "othello", rows, {});
    await writeGameDataset(path.join(dir, "val.parquet"), rows.slice(0, 1));
    await expect(readDatasetDirectory(dir, ["val"])).rejects.toThrow(/val\.parquet holds 1 games, the manifest says \d+/);
    await rm(path.join(dir, "manifest.json"));
    await writeFile(path.join(dir, "manifest.json.tmp"), "{}");
    await expect(readDatasetManifest(dir)).rejects.toThrow("no manifest.json");
  });

  it("names the split file that is truncated or missing, and a manifest that is not JSON", async () => {
    const dir = await temporaryDir();
    await writeDatasetDirectory(dir, "othello", await generateOthelloGames({ count: 300, seed: 4, workers: 1 }), {});
    const train = path.join(dir, "train.parquet");
    const bytes = await readFile(train);
    await writeFile(train, bytes.subarray(0, bytes.length >> 1));
    await expect(readDatasetDirectory(dir, ["val"])).resolves.toBeDefined(); // the other splits stay readable
    await expect(readDatasetDirectory(dir)).rejects.toThrow(GameDatasetError);
    await expect(readDatasetDirectory(dir)).rejects.toThrow(`${train}: column "*": not a readable Parquet file`);
    await rm(train);
    await expect(readDatasetDirectory(dir)).rejects.toThrow(`${train}: column "*": cannot read the file`);
    const manifest = path.join(dir, "manifest.json");
    const text = await readFile(manifest, "utf8");
    await writeFile(manifest, text.slice(0, text.length >> 1));
    await expect(readDatasetDirectory(dir)).rejects.toThrow(DatasetDirectoryError);
    await expect(readDatasetDirectory(dir)).rejects.toThrow(`${dir}: manifest.json is not valid JSON`);
  });
});
