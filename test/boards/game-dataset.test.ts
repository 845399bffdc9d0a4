import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { Table as WasmTable, writeParquet } from "parquet-wasm";
import { afterAll, describe, expect, it } from "vitest";
import {
  datasetNameSchema,
  GameDatasetError,
  gameId,
  readGameDataset,
  writeGameDataset,
  type ChessGameRow,
} from "../../boards/game-dataset.js";
import { generateOthelloGames } from "../../boards/othello/generate.js";
import { OthelloTranscriptError } from "../../boards/othello/replay.js";
import { othelloRow } from "./othello/rows.js";

const scratch = await mkdtemp(path.join(tmpdir(), "game-dataset-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

const chessRows: ChessGameRow[] = [
  {
    gameId: "lichess-0-0", game: "chess", source: "pgn", moves: ";1.e4 e5 2.Nf3", tokens: null, length: 3,
    nChars: 14, result: "*", seed: null, meta: '{"Event":"Rated"}', split: "train",
  },
  {
    gameId: "random-0-1", game: "chess", source: "random", moves: ";1.f3 e5 2.g4 Qh4#", tokens: Uint8Array.of(15, 6, 4),
    length: 4, nChars: 18, result: "0-1", seed: 42n, meta: "{}", split: "test",
  },
];

/** Writes an arbitrary Arrow table as Parquet, for files the dataset writer would never produce. */
async function writeRawParquet(file: string, columns: Parameters<typeof tableFromArrays>[0]): Promise<void> {
  const ipc = tableToIPC(tableFromArrays(columns), "stream");
  await writeFile(file, writeParquet(WasmTable.fromIPCStream(ipc)));
}

describe("game dataset Parquet files (spec boards.md §4)", () => {
  it("round-trips generated Othello rows exactly, leaving no temporary file", async () => {
    const rows = await generateOthelloGames({ count: 2_000, seed: 1, workers: 1 });
    const file = path.join(scratch, "othello", "train.parquet");
    await writeGameDataset(file, rows);
    expect(await readGameDataset(file)).toEqual(rows);
    expect(await readdir(path.dirname(file))).toEqual(["train.parquet"]);
  });

  it("round-trips chess rows with null tokens and seeds", async () => {
    const file = path.join(scratch, "chess.parquet");
    await writeGameDataset(file, chessRows);
    expect(await readGameDataset(file)).toEqual(chessRows);
  });

  it("writes an empty split when told the game kind", async () => {
    const file = path.join(scratch, "empty.parquet");
    await expect(writeGameDataset(file, [])).rejects.toThrow(/options.game/);
    await writeGameDataset(file, [], { game: "othello" });
    expect(await readGameDataset(file)).toEqual([]);
  });

  it("refuses to mix game kinds in one file", async () => {
    const [othello] = await generateOthelloGames({ count: 1, seed: 1, workers: 1 });
    await expect(writeGameDataset(path.join(scratch, "mixed.parquet"), [othello, chessRows[0]])).rejects.toThrow(
      /row 1 \(lichess-0-0\) is a chess game in a othello dataset/,
    );
  });

  it("names the file and the column of a bad file", async () => {
    const notParquet = path.join(scratch, "text.parquet");
    await writeFile(notParquet, "game_id,moves\n");
    await expect(readGameDataset(notParquet)).rejects.toThrow(GameDatasetError);
    await expect(readGameDataset(notParquet)).rejects.toThrow(`${notParquet}: column "*": not a readable Parquet file`);

    const missing = path.join(scratch, "missing.parquet");
    await writeRawParquet(missing, { game_id: ["a"], game: ["othello"], source: ["random"] });
    await expect(readGameDataset(missing)).rejects.toThrow(`${missing}: column "moves": missing`);

    const good = path.join(scratch, "good.parquet");
    await writeGameDataset(good, chessRows);
    const rows = await readGameDataset(good);
    const mistyped = path.join(scratch, "mistyped.parquet");
    await writeRawParquet(mistyped, {
      game_id: rows.map((row) => row.gameId),
      game: rows.map((row) => row.game),
      source: rows.map((row) => row.source),
      moves: rows.map((row) => row.moves as string),
      tokens: rows.map(() => null),
      length: rows.map((row) => String(row.length)),
    });
    await expect(readGameDataset(mistyped)).rejects.toThrow(/mistyped.parquet: column "tokens": type .* is not list<uint8>/);
  });

  it("names the row of an inconsistent value", async () => {
    const file = path.join(scratch, "inconsistent.parquet");
    await writeGameDataset(file, [chessRows[0], { ...chessRows[1], nChars: 3 }]);
    await expect(readGameDataset(file)).rejects.toThrow(`${file}: column "n_chars": row 1, game random-0-1: 3 but moves has 18 characters`);
    await writeGameDataset(file, [{ ...chessRows[0], result: "draw" as never }]);
    await expect(readGameDataset(file)).rejects.toThrow(/column "result": row 0, game lichess-0-0: "draw" is not a chess result/);
  });

  it("names the file, row, game, move and square of an illegal Othello move, and can skip the replay", async () => {
    const file = path.join(scratch, "illegal.parquet");
    // after c4 (black) white must answer c3, c5 or e3; a1 brackets nothing
    const rows = [othelloRow("f5 f6 e6", "demo-0-0"), othelloRow("c4 a1 c3", "demo-0-1")];
    await writeGameDataset(file, rows);
    const error = await readGameDataset(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GameDatasetError);
    expect((error as Error).message).toContain(
      `${file}: column "moves": row 1, game demo-0-1: move 1: a1 (square 0) is not legal for white, the player to move; legal: c3 c5 e3`,
    );
    expect((error as Error).cause).toBeInstanceOf(OthelloTranscriptError);
    expect((error as Error).cause).toMatchObject({ gameId: "demo-0-1", moveIndex: 1, square: 0 });
    expect(await readGameDataset(file, { checkOthelloMoves: false })).toEqual(rows);
  });

  it("names the position of a stored token that is unknown or disagrees with its move", async () => {
    const file = path.join(scratch, "tokens.parquet");
    const row = othelloRow("f5 f6 e6", "demo-0-2"); // tokens 41 42 34
    await writeGameDataset(file, [{ ...row, tokens: Uint8Array.of(41, 61, 34) }]);
    await expect(readGameDataset(file)).rejects.toThrow(
      `${file}: column "tokens": row 0, game demo-0-2: position 1: token 61 is not an Othello move token (1..60)`,
    );
    await writeGameDataset(file, [{ ...row, tokens: Uint8Array.of(41, 42, 0) }]);
    await expect(readGameDataset(file)).rejects.toThrow(/row 0, game demo-0-2: position 2: token 0 is not an Othello move token/);
    await writeGameDataset(file, [{ ...row, tokens: Uint8Array.of(41, 42, 33) }]);
    await expect(readGameDataset(file)).rejects.toThrow(/position 2: token 33 is e3 but move 2 is e6/);

    // chess: stored ids may cover a prefix of the movetext (";1." here), but must spell it
    await writeGameDataset(file, [{ ...chessRows[1], tokens: Uint8Array.of(15, 6, 40) }]);
    await expect(readGameDataset(file)).rejects.toThrow(
      `${file}: column "tokens": row 0, game random-0-1: position 2: id 40 is not a chess character id (0..31)`,
    );
    await writeGameDataset(file, [{ ...chessRows[1], tokens: Uint8Array.of(15, 6, 5) }]);
    await expect(readGameDataset(file)).rejects.toThrow(`position 2: id 5 is "0" but moves has "."`);
  });

  it("names a truncated or missing file", async () => {
    const whole = path.join(scratch, "whole.parquet");
    await writeGameDataset(whole, await generateOthelloGames({ count: 200, seed: 2, workers: 1 }));
    const bytes = await readFile(whole);
    const half = path.join(scratch, "half.parquet");
    await writeFile(half, bytes.subarray(0, bytes.length >> 1));
    await expect(readGameDataset(half)).rejects.toThrow(GameDatasetError);
    await expect(readGameDataset(half)).rejects.toThrow(`${half}: column "*": not a readable Parquet file`);
    const footerless = path.join(scratch, "footerless.parquet");
    await writeFile(footerless, bytes.subarray(0, bytes.length - 4));
    await expect(readGameDataset(footerless)).rejects.toThrow(`${footerless}: column "*": not a readable Parquet file`);
    const missing = path.join(scratch, "no-such.parquet");
    await expect(readGameDataset(missing)).rejects.toThrow(`${missing}: column "*": cannot read the file (ENOENT`);
  });
});

describe("game ids (spec §4 `<dataset>-<shard>-<index>`)", () => {
  it("counts the index within its shard", () => {
    expect([0, 3, 4, 11].map((index) => gameId("demo", 4, index))).toEqual(["demo-0-0", "demo-0-3", "demo-1-0", "demo-2-3"]);
  });
  it("accepts dataset names without the id separator only", () => {
    expect(datasetNameSchema.parse("chess_random.v2")).toBe("chess_random.v2");
    expect(() => datasetNameSchema.parse("chess-random")).toThrow(/letters, digits, '_' and '.' only/);
  });
});
