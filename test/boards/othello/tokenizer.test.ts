import { describe, expect, it } from "vitest";
import { playRandomOthelloGame } from "../../../boards/othello/random-games.js";
import { parseSquare } from "../../../boards/othello/squares.js";
import {
  decodeOthelloTokens,
  encodeOthelloMoves,
  OTHELLO_CONTEXT_LENGTH,
  OTHELLO_VOCAB_SIZE,
  OthelloTokenSequenceError,
  othelloTrainingPair,
  squareToToken,
  tokenToSquare,
} from "../../../boards/othello/tokenizer.js";
import { xoshiro128 } from "../../../boards/random.js";

describe("othello tokenizer (spec boards.md §1.4)", () => {
  it("maps the spec's examples", () => {
    expect(["a1", "d3", "d6", "e6", "h8"].map((name) => squareToToken(parseSquare(name)))).toEqual([1, 27, 28, 34, 60]);
    expect(OTHELLO_VOCAB_SIZE).toBe(61);
    expect(OTHELLO_CONTEXT_LENGTH).toBe(59);
  });

  it("round-trips all 60 playable squares onto tokens 1..60 in ascending order", () => {
    const playable = Array.from({ length: 64 }, (_, square) => square).filter((square) => ![27, 28, 35, 36].includes(square));
    const tokens = playable.map(squareToToken);
    expect(tokens).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(tokens.map(tokenToSquare)).toEqual(playable);
  });

  it("has no token for centre squares and no square for padding", () => {
    for (const centre of [27, 28, 35, 36]) expect(() => squareToToken(centre)).toThrow(/centre square/);
    expect(() => tokenToSquare(0)).toThrow(/0 is padding/);
    expect(() => tokenToSquare(61)).toThrow(/got 61/);
  });

  it("drops trailing padding and rejects padding inside a game, naming the position and the game", () => {
    expect(Array.from(decodeOthelloTokens([20, 19, 0, 0]))).toEqual([19, 18]);
    expect(() => decodeOthelloTokens([20, 0, 19])).toThrow("position 1: token 0 (padding) is followed by move tokens");
    expect(() => decodeOthelloTokens([20, 0, 19], "g-0-4")).toThrow(
      /^game g-0-4, position 1: token 0 \(padding\) is followed by move tokens$/,
    );
  });

  it("names an unknown token id, its position and the game when decoding", () => {
    const error = (() => {
      try {
        decodeOthelloTokens([20, 19, 61, 18], "g-0-7");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(OthelloTokenSequenceError);
    expect(error).toMatchObject({ gameId: "g-0-7", position: 2, token: 61 });
    expect((error as Error).message).toBe("game g-0-7, position 2: token 61 is not an Othello token: expected 1..60 (0 is padding)");
    expect(() => decodeOthelloTokens([255])).toThrow(/^position 0: token 255 is not an Othello token/);
    expect(() => decodeOthelloTokens(Uint8Array.of(20, 255, 0))).toThrow(/^position 1: token 255 /);
    expect(() => decodeOthelloTokens([20, 1.5])).toThrow(/^position 1: token 1.5 /);
  });

  it("builds next-move pairs of length 59 with right padding", () => {
    const { inputs, targets } = othelloTrainingPair([20, 19, 18]);
    expect(inputs.length).toBe(59);
    expect(targets.length).toBe(59);
    expect(Array.from(inputs.subarray(0, 4))).toEqual([20, 19, 18, 0]);
    expect(Array.from(targets.subarray(0, 3))).toEqual([19, 18, 0]);
    const full = Array.from({ length: 60 }, (_, i) => i + 1);
    const pair = othelloTrainingPair(full);
    expect(pair.inputs[58]).toBe(59);
    expect(pair.targets[58]).toBe(60);
    expect(() => othelloTrainingPair(new Array(61).fill(1))).toThrow(/61 tokens/);
  });

  it("round-trips 2,000 random games through encode and decode", () => {
    const moves = new Uint8Array(60);
    for (let game = 0; game < 2_000; game++) {
      const length = playRandomOthelloGame(xoshiro128(99, game), moves).moveCount;
      const gameMoves = moves.subarray(0, length);
      const tokens = encodeOthelloMoves(gameMoves);
      expect(tokens.every((token) => token >= 1 && token <= 60)).toBe(true);
      expect(decodeOthelloTokens(othelloTrainingPair(tokens).inputs).length).toBe(Math.min(length, 59));
      expect(decodeOthelloTokens(tokens)).toEqual(gameMoves);
    }
  });
});
