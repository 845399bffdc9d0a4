import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeGameDataset, type OthelloGameRow } from "../../../boards/game-dataset.js";
import { generateOthelloGames, othelloGenerationConfigSchema } from "../../../boards/othello/generate.js";
import { replayOthello } from "../../../boards/othello/replay.js";
import { formatOthelloMoves } from "../../../boards/othello/squares.js";
import { encodeOthelloMoves } from "../../../boards/othello/tokenizer.js";
import { splitOf } from "../../../boards/splits.js";

const scratch = await mkdtemp(path.join(tmpdir(), "othello-generate-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

function summary(rows: OthelloGameRow[]): string {
  return rows.map((row) => `${row.gameId}|${formatOthelloMoves(row.moves)}|${row.result}|${row.seed}|${row.split}`).join("\n");
}

describe("generateOthelloGames (spec boards.md §1.5, §4)", () => {
  it("gives the same games and the same Parquet bytes with 1 and 2 workers", async () => {
    const options = { count: 12_000, seed: 3, shardSize: 2_500 };
    const inThread = await generateOthelloGames({ ...options, workers: 1 });
    const parallel = await generateOthelloGames({ ...options, workers: 2 });
    expect(summary(parallel)).toBe(summary(inThread));
    await writeGameDataset(path.join(scratch, "one.parquet"), inThread);
    await writeGameDataset(path.join(scratch, "two.parquet"), parallel);
    const [one, two] = await Promise.all(["one", "two"].map((name) => readFile(path.join(scratch, `${name}.parquet`))));
    expect(one.equals(two)).toBe(true);
    const otherSeed = await generateOthelloGames({ ...options, count: 100, seed: 4, workers: 1 });
    expect(summary(otherSeed)).not.toBe(summary(inThread.slice(0, 100)));
  });

  it("fills rows that replay to their stored result, tokens, seed, id and split", async () => {
    const progress: Array<[number, number]> = [];
    const onProgress = (done: number, total: number) => progress.push([done, total]);
    const rows = await generateOthelloGames({ count: 3_000, seed: 11, shardSize: 1_000, workers: 1, onProgress });
    expect(progress).toEqual([[1_000, 3_000], [2_000, 3_000], [3_000, 3_000]]);
    rows.forEach((row, index) => {
      expect(replayOthello(row.moves, row.gameId).result).toBe(row.result);
      expect(row.tokens).toEqual(encodeOthelloMoves(row.moves));
      expect(row.length).toBe(row.moves.length);
      expect(row.seed).toBe(11n * 2n ** 32n + BigInt(index));
      expect(row.gameId).toBe(`othello-${Math.floor(index / 1_000)}-${index % 1_000}`);
      expect(row.split).toBe(splitOf(formatOthelloMoves(row.moves)));
      expect(row.result).not.toBe("unfinished");
    });
  });

  it("skips a repeated game and takes the next index in its place", async () => {
    // With seed 20, game 8322 repeats game 8041 (a 9-move game).
    const all = await generateOthelloGames({ count: 10_000, seed: 20, dedupe: false, workers: 1 });
    expect(formatOthelloMoves(all[8322].moves)).toBe(formatOthelloMoves(all[8041].moves));
    const distinct = await generateOthelloGames({ count: 10_000, seed: 20, workers: 2, shardSize: 3_000 });
    expect(new Set(distinct.map((row) => formatOthelloMoves(row.moves))).size).toBe(10_000);
    expect(distinct[8322].gameId).toBe("othello-2-2323");
    expect(distinct[9_999].gameId).toBe("othello-3-1000");
    const movesOf = (rows: OthelloGameRow[]) => rows.map((row) => formatOthelloMoves(row.moves));
    expect(movesOf(distinct.slice(0, 8322))).toEqual(movesOf(all.slice(0, 8322)));
    expect(movesOf(distinct.slice(8322, 8400))).toEqual(movesOf(all.slice(8323, 8401)));
  });

  it("matches the spec's recipe statistics on 20,000 games", async () => {
    const rows = await generateOthelloGames({ count: 20_000, seed: 5, workers: 2 });
    let full = 0;
    let moves = 0;
    let withPass = 0;
    let positions = 0;
    let parityMisses = 0;
    for (const row of rows) {
      if (row.length === 60) full++;
      moves += row.length;
      let passed = false;
      replayOthello(row.moves, row.gameId, (board, i) => {
        passed ||= board.lastMoveForcedPass;
        if (i > 58) return;
        positions++;
        if (board.sideToMove !== (i % 2 === 0 ? -1 : 1)) parityMisses++; // parity guess: white after even i
      });
      if (passed) withPass++;
    }
    expect(Math.min(...rows.map((row) => row.length))).toBeGreaterThanOrEqual(9);
    expect(full / rows.length).toBeGreaterThan(0.9855); // spec 99.05 %, ±0.5 pp
    expect(full / rows.length).toBeLessThan(0.9955);
    expect(moves / rows.length).toBeGreaterThan(59.9); // spec 59.97
    expect(Math.abs(withPass / rows.length - 0.345)).toBeLessThan(0.02); // spec 34.5 %, ≈ 6σ at this size
    expect(Math.abs(parityMisses / positions - 0.0118)).toBeLessThan(0.002); // spec 1.18 %
  });

  it("validates its config and applies the spec's defaults", async () => {
    expect(othelloGenerationConfigSchema.parse({})).toEqual({
      count: 1_000_000,
      seed: 0,
      dedupe: true,
      shardSize: 10_000,
      datasetName: "othello",
      splits: { train: 0.98, val: 0.01 },
    });
    await expect(generateOthelloGames({ count: 10, seed: 2 ** 31 })).rejects.toThrow(/seed/);
    await expect(generateOthelloGames({ count: 10, workers: 0 })).rejects.toThrow(/workers must be a positive integer, got 0/);
  });
});
