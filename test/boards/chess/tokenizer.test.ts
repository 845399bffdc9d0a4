import { describe, expect, it } from "vitest";
import { playRandomChessGame } from "../../../boards/chess/random-games.js";
import {
  CHESS_CONTEXT_LENGTH,
  CHESS_VOCAB_SIZE,
  ChessTokenError,
  chessTrainingPair,
  decodeChessIds,
  encodeChessText,
  padChessIds,
} from "../../../boards/chess/tokenizer.js";
import { xoshiro128 } from "../../../boards/random.js";

// spec boards.md §2.1, copied from the table
const SPEC_TABLE: ReadonlyArray<[number, string]> = [
  [0, " "], [1, "#"], [2, "+"], [3, "-"], [4, "."], [5, "0"], [6, "1"], [7, "2"],
  [8, "3"], [9, "4"], [10, "5"], [11, "6"], [12, "7"], [13, "8"], [14, "9"], [15, ";"],
  [16, "="], [17, "B"], [18, "K"], [19, "N"], [20, "O"], [21, "Q"], [22, "R"], [23, "a"],
  [24, "b"], [25, "c"], [26, "d"], [27, "e"], [28, "f"], [29, "g"], [30, "h"], [31, "x"],
];

describe("chess tokenizer (spec boards.md §2.1)", () => {
  it("gives every character of the spec table its id", () => {
    expect(CHESS_VOCAB_SIZE).toBe(32);
    for (const [id, char] of SPEC_TABLE) {
      expect(Array.from(encodeChessText(char))).toEqual([id]);
      expect(decodeChessIds([id])).toBe(char);
    }
  });

  it("encodes a movetext character by character", () => {
    expect(Array.from(encodeChessText(";1.e4 e5 2.O-O#"))).toEqual([15, 6, 4, 27, 9, 0, 27, 10, 0, 7, 4, 20, 3, 20, 1]);
  });

  it("names a character outside the vocabulary and its index", () => {
    expect(() => encodeChessText(";1.e4 e5?")).toThrow(/"\?".*at index 8/);
    expect(() => encodeChessText(";1.e4\n")).toThrow(/"\\n".*at index 5/);
    expect(() => encodeChessText("1.é4")).toThrow(/"é".*at index 2/);
    expect(() => decodeChessIds([4, 32])).toThrow(/index 1 .*got 32/);
  });

  it("names an unknown id and its index when decoding", () => {
    expect(() => decodeChessIds([15, 6, 4, 255])).toThrow(ChessTokenError);
    expect(() => decodeChessIds([15, 6, 4, 255])).toThrow("chess character id at index 3 must be an integer in [0, 31], got 255");
    expect(() => decodeChessIds([-1])).toThrow("index 0 must be an integer in [0, 31], got -1");
    expect(() => decodeChessIds([15, 2.5])).toThrow("index 1 must be an integer in [0, 31], got 2.5");
  });

  it("round-trips 100 random games", () => {
    for (let game = 0; game < 100; game++) {
      const { movetext } = playRandomChessGame(xoshiro128(7, game), { maxPlies: 400, maxChars: 300 });
      const ids = encodeChessText(movetext);
      expect(ids.every((id) => id < 32)).toBe(true);
      expect(decodeChessIds(ids)).toBe(movetext);
    }
  });

  it("right-pads with id 0 and marks real characters in the mask", () => {
    const { ids, mask } = padChessIds([15, 6, 4], 5);
    expect(Array.from(ids)).toEqual([15, 6, 4, 0, 0]);
    expect(Array.from(mask)).toEqual([1, 1, 1, 0, 0]);
    expect(Array.from(padChessIds([15, 6, 4], 2).ids)).toEqual([15, 6]);
  });

  it("builds next-character pairs whose mask excludes padded targets (a real space is id 0 too)", () => {
    const { inputs, targets, targetMask } = chessTrainingPair(";1.e4 e5", 10);
    expect(Array.from(inputs)).toEqual([15, 6, 4, 27, 9, 0, 27, 10, 0, 0]);
    expect(Array.from(targets)).toEqual([6, 4, 27, 9, 0, 27, 10, 0, 0, 0]);
    expect(Array.from(targetMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    const truncated = chessTrainingPair(";1.e4 e5 2.Nf3", 4);
    expect(Array.from(truncated.inputs)).toEqual([15, 6, 4, 27]);
    expect(Array.from(truncated.targets)).toEqual([6, 4, 27, 9]);
    expect(Array.from(truncated.targetMask)).toEqual([1, 1, 1, 1]);
    expect(chessTrainingPair(";1.e4").inputs.length).toBe(CHESS_CONTEXT_LENGTH);
    expect(CHESS_CONTEXT_LENGTH).toBe(1023);
  });
});
