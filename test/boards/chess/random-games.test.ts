import { Chess } from "chess.js";
import { describe, expect, it } from "vitest";
import { parseChessMovetext } from "../../../boards/chess/movetext.js";
import {
  chessRandomConfigSchema,
  generateRandomChessGames,
  generateRandomChessShard,
  playRandomChessGame,
  type ChessRandomShardTask,
} from "../../../boards/chess/random-games.js";
import { encodeChessText } from "../../../boards/chess/tokenizer.js";
import { xoshiro128 } from "../../../boards/random.js";
import { DEFAULT_SPLIT_FRACTIONS, splitOf } from "../../../boards/splits.js";

const TASK: ChessRandomShardTask = {
  datasetSeed: 3,
  start: 0,
  count: 6,
  maxPlies: 400,
  maxChars: 120,
  shardSize: 4,
  datasetName: "test",
  storeTokens: false,
  splits: DEFAULT_SPLIT_FRACTIONS,
};

describe("random chess games (spec boards.md §2.3)", () => {
  it("gives the same games for the same seed, however the indices are split", () => {
    const whole = generateRandomChessShard(TASK);
    expect(generateRandomChessShard(TASK)).toEqual(whole);
    const parts = [...generateRandomChessShard({ ...TASK, count: 2 }), ...generateRandomChessShard({ ...TASK, start: 2, count: 4 })];
    expect(parts).toEqual(whole);
    expect(new Set(whole.map((row) => row.moves)).size).toBe(6);
    const otherSeed = generateRandomChessShard({ ...TASK, datasetSeed: 4 });
    expect(otherSeed.map((row) => row.moves)).not.toEqual(whole.map((row) => row.moves));
  });

  it("fills every column of the dataset row (spec §4)", () => {
    const rows = generateRandomChessShard({ ...TASK, storeTokens: true });
    expect(rows.map((row) => row.gameId)).toEqual(["test-0-0", "test-0-1", "test-0-2", "test-0-3", "test-1-0", "test-1-1"]);
    rows.forEach((row, index) => {
      expect(row.game).toBe("chess");
      expect(row.source).toBe("random");
      expect(row.seed).toBe(3n * 2n ** 32n + BigInt(index));
      expect(row.nChars).toBe(row.moves.length);
      expect(row.length).toBe(parseChessMovetext(row.moves).length);
      expect(row.moves.startsWith(";1.")).toBe(true);
      expect(row.tokens).toEqual(encodeChessText(row.moves));
      expect(row.split).toBe(splitOf(row.moves));
      expect(JSON.parse(row.meta)).toEqual({ maxPlies: 400, maxChars: 120 });
    });
    expect(generateRandomChessShard({ ...TASK, count: 1 })[0].tokens).toBeNull();
  });

  it("stops once the movetext exceeds maxChars or the game reaches maxPlies", () => {
    for (let game = 0; game < 20; game++) {
      const { sans, movetext, result } = playRandomChessGame(xoshiro128(11, game), { maxPlies: 400, maxChars: 50 });
      expect(result).toBe("*");
      expect(movetext.length).toBeGreaterThan(50);
      expect(movetext.slice(0, movetext.lastIndexOf(" ")).length).toBeLessThanOrEqual(50);
      expect(parseChessMovetext(movetext)).toEqual(sans);
      expect(playRandomChessGame(xoshiro128(11, game), { maxPlies: 7, maxChars: 1000 }).sans.length).toBe(7);
    }
  });

  it("plays legal games whose result agrees with chess.js's own verdict", () => {
    const results = new Set<string>();
    for (let game = 0; game < 25; game++) {
      const { sans, result } = playRandomChessGame(xoshiro128(5, game), { maxPlies: 400, maxChars: 100_000 });
      results.add(result);
      const chess = new Chess();
      for (const san of sans) chess.move(san, { strict: true });
      if (result === "*") {
        expect(chess.isGameOver()).toBe(false);
        expect(sans.length).toBe(400);
      } else if (result === "1/2-1/2") {
        expect(chess.isDraw()).toBe(true);
      } else {
        expect(chess.isCheckmate()).toBe(true);
        expect(chess.turn()).toBe(result === "1-0" ? "b" : "w");
      }
    }
    expect(results.has("1/2-1/2")).toBe(true);
    expect(results.has("1-0") || results.has("0-1")).toBe(true);
  });

  it("parses its config with the spec's defaults", () => {
    const config = chessRandomConfigSchema.parse({});
    expect(config.maxPlies).toBe(400);
    expect(config.maxChars).toBe(1024);
    expect(() => chessRandomConfigSchema.parse({ maxPlies: 0 })).toThrow();
    expect(() => chessRandomConfigSchema.parse({ seed: 2 ** 31 })).toThrow();
    const rows = generateRandomChessGames({ count: 6, seed: 3, maxChars: 120, shardSize: 4, datasetName: "test" });
    expect(rows).toEqual(generateRandomChessShard(TASK));
  });

  it("refuses a seed or index range outside the int64 seed column", () => {
    expect(() => generateRandomChessShard({ ...TASK, datasetSeed: -1 })).toThrow(/seed .* got -1/);
    expect(() => generateRandomChessShard({ ...TASK, start: 2 ** 32 - 1, count: 2 })).toThrow(/exceed the index range/);
  });
});
