import { describe, expect, it } from "vitest";
import { chessGameRow, type ChessRowGame } from "../../../boards/chess/chess-game-row.js";

const game: ChessRowGame = { source: "engine", movetext: ";1.e4 e5", plies: 2, result: "*", seed: 7n, meta: '{"engine":"x"}' };
const settings = { datasetName: "demo", shardSize: 4, storeTokens: false, splits: { train: 1, val: 0 } };

describe("chessGameRow", () => {
  it("fills every column from the game, its index and the settings", () => {
    expect(chessGameRow(settings, 11, game)).toEqual({
      gameId: "demo-2-3",
      game: "chess",
      source: "engine",
      moves: ";1.e4 e5",
      tokens: null,
      length: 2,
      nChars: 8,
      result: "*",
      seed: 7n,
      meta: '{"engine":"x"}',
      split: "train",
    });
  });
  it("stores character ids when asked and takes the split from the fractions", () => {
    const row = chessGameRow({ ...settings, storeTokens: true, splits: { train: 0, val: 1 } }, 0, game);
    expect([...row.tokens!]).toEqual([15, 6, 4, 27, 9, 0, 27, 10]); // ; 1 . e 4 space e 5
    expect(row.split).toBe("val");
    expect(chessGameRow({ ...settings, splits: { train: 0, val: 0 } }, 0, game).split).toBe("test");
  });
});
