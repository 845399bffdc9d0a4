// Sampling from a GPT (model/sample.ts): token choice (greedy = argmax, softmax(logits/T) frequencies, seeded
// determinism), batched next-token logits against single forwards, and the Othello and chess loops — every generated
// Othello move judged as a plain independent Othello judges it.

import type * as tfTypes from "@tensorflow/tfjs";
import { Chess } from "chess.js";
import { beforeAll, describe, expect, it } from "vitest";
import { CHESS_VOCAB, encodeChessText } from "../../boards/chess/tokenizer.js";
import type { OthelloGameRow } from "../../boards/game-dataset.js";
import { parseOthelloMoves } from "../../boards/othello/squares.js";
import { squareToToken } from "../../boards/othello/tokenizer.js";
import { xoshiro128 } from "../../boards/random.js";
import { initTfjs } from "../../compute/tfjs.js";
import { parseGptConfig, type GptConfigInput } from "../../model/config.js";
import { createGpt, disposeGpt, forward, type Gpt } from "../../model/gpt.js";
import { chessSampleGame, chooseToken, nextTokenLogits, sampleChess, sampleOthello, type OthelloSample } from "../../model/sample.js";
import { ArrayOthello } from "../boards/othello/array-othello.js";
import { randomArray } from "../compute/random.js";
import { tinyGames } from "./train-fixtures.js";

let tf: typeof tfTypes;
let games: OthelloGameRow[];
beforeAll(async () => {
  tf = (await initTfjs()).tf;
  games = (await tinyGames(40, 8)) as OthelloGameRow[];
});

const OTHELLO = { game: "othello", tokenizer: "othello-61", d_vocab: 61, n_ctx: 59, pad_token_id: 0 } as const;
const CHESS = { game: "chess", tokenizer: "chess-32", d_vocab: 32, n_ctx: 64, pad_token_id: null } as const;

function tinyModel(game: Partial<GptConfigInput>, weights: "random" | { biasOn: number }): Gpt {
  const model = createGpt(tf, parseGptConfig({
    format: "sae-circuits.gpt", format_version: 1, model_name: "tiny", n_layers: 1, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 32, seed: 1,
    ...OTHELLO, ...game,
  }));
  let seed = 500;
  for (const [name, variable] of model.params) {
    let values: Float32Array;
    if (weights === "random") {
      values = randomArray(variable.size, seed++, 0.7);
      if (/ln.*\.w$/.test(name)) values.forEach((v, i) => (values[i] = 1 + v));
    } else {
      // all zero but LN gains: the final LayerNorm outputs 0, so the logits are b_U, one-hot at biasOn
      values = new Float32Array(variable.size);
      if (/ln.*\.w$/.test(name)) values.fill(1);
      if (name === "unembed.b_U") values[weights.biasOn] = 1;
    }
    variable.assign(tf.tensor(values, variable.shape));
  }
  return model;
}

/** The last position's logits of one plain forward over exactly these tokens. */
function lastLogits(model: Gpt, tokens: readonly number[]): number[] {
  return tf.tidy(() => Array.from(forward(model, tf.tensor2d([tokens.slice()], [1, tokens.length], "int32")).dataSync()).slice(-model.config.d_vocab));
}

const firstArgmax = (values: readonly number[]): number => values.indexOf(Math.max(...values));

describe("token choice", () => {
  it("is the first argmax at temperature 0", () => {
    const random = xoshiro128(1, 0);
    expect(chooseToken([1, 3, 3, 2], 0, random)).toBe(1);
    expect(chooseToken([-5, -1, -2], 0, random)).toBe(1);
    expect(chooseToken([0, 9, 7, 7, 1], 0, random, 2, 3)).toBe(0); // a row inside a larger array
    expect(() => chooseToken([1, 2], -1, random)).toThrow(/temperature must be a finite number ≥ 0, got -1/);
  });

  it("draws with the frequencies of softmax(logits / T), the same draws for the same seed", () => {
    const logits = [0, Math.log(2), Math.log(4)];
    for (const [temperature, weights] of [[1, [1, 2, 4]], [2, [1, Math.SQRT2, 2]]] as const) {
      const random = xoshiro128(7, 0);
      const counts = [0, 0, 0];
      const draws = 20_000;
      for (let i = 0; i < draws; i++) counts[chooseToken(logits, temperature, random)]++;
      const total = weights.reduce((a, b) => a + b, 0);
      counts.forEach((count, i) => expect(Math.abs(count / draws - weights[i] / total)).toBeLessThan(0.012));
    }
    const draw = (seed: number) => { const random = xoshiro128(seed, 0); return Array.from({ length: 50 }, () => chooseToken(logits, 1, random)); };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });
});

describe("next-token logits", () => {
  it("reads each right-padded row at its own last position, as a forward over that row alone", () => {
    const model = tinyModel({}, "random");
    const before = tf.memory().numTensors;
    const sequences = [[5, 9, 1], [7], [3, 3, 3, 3, 3, 2, 60], [1, 2]];
    const batched = nextTokenLogits(model, sequences);
    sequences.forEach((sequence, row) => {
      const alone = lastLogits(model, sequence);
      alone.forEach((value, v) => expect(batched[row * 61 + v]).toBeCloseTo(value, 5));
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => nextTokenLogits(model, [[1], []])).toThrow(/sequence 1 has 0 tokens; the model reads 1..n_ctx = 59/);
    disposeGpt(model);
  });
});

/** Replays a sample with the plain Othello: every flag, the stop reason and the final board must agree. */
function checkAgainstArrayOthello(sample: OthelloSample): number {
  const board = new ArrayOthello();
  for (const square of sample.prompt) board.play(square);
  let legal = 0;
  sample.moves.forEach((move, i) => {
    const isLegal = move.square !== null && !board.over && board.moves.includes(move.square);
    expect(move.legal).toBe(isLegal);
    expect(move.square === null).toBe(move.token === 0);
    if (move.square !== null) expect(squareToToken(move.square)).toBe(move.token);
    if (i < sample.moves.length - 1) expect(isLegal).toBe(true); // generation stops at the first illegal move
    if (isLegal) {
      board.play(move.square!);
      legal++;
    }
  });
  const last = sample.moves.at(-1);
  expect(sample.stop === "illegal").toBe(last !== undefined && !last.legal);
  expect(sample.stop === "game-over").toBe(board.over && (last === undefined || last.legal));
  for (let square = 0; square < 64; square++) expect(sample.board.at(square)).toBe(board.cells[square]);
  return legal;
}

describe("Othello sampling", () => {
  it("greedy decoding takes the argmax of a plain forward at every step", () => {
    const model = tinyModel({}, "random");
    for (const game of games.slice(0, 6)) {
      const prompt = Array.from(game.moves.slice(0, 10));
      const sample = sampleOthello(model, prompt);
      const tokens = prompt.map(squareToToken);
      for (const move of sample.moves) {
        expect(move.token).toBe(firstArgmax(lastLogits(model, tokens)));
        tokens.push(move.token);
      }
      checkAgainstArrayOthello(sample);
    }
    disposeGpt(model);
  });

  it("marks legality as an independent Othello does, over many seeded samples", () => {
    const model = tinyModel({}, "random");
    let legal = 0;
    const stops = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const game = games[seed % games.length];
      const sample = sampleOthello(model, Array.from(game.moves.slice(0, 1 + (seed % 40))), { temperature: 3, seed });
      legal += checkAgainstArrayOthello(sample);
      stops.add(sample.stop);
      expect(sampleOthello(model, Array.from(game.moves.slice(0, 1 + (seed % 40))), { temperature: 3, seed })).toEqual(sample);
    }
    expect(legal).toBeGreaterThan(3); // the legal branch was exercised
    expect(stops.has("illegal")).toBe(true);
    disposeGpt(model);
  });

  it("stops at an occupied square, the pad token, the game's end, n_ctx and the move limit", () => {
    const game = games[0];
    const fifth = squareToToken(game.moves[4]);
    const constant = tinyModel({}, { biasOn: fifth });
    const twice = sampleOthello(constant, Array.from(game.moves.slice(0, 4)));
    expect(twice.moves.map((move) => move.legal)).toEqual([true, false]); // the same square again is occupied
    expect(twice.stop).toBe("illegal");
    checkAgainstArrayOthello(twice);
    expect(sampleOthello(constant, Array.from(game.moves.slice(0, 4)), { maxTokens: 1 })).toMatchObject({ stop: "limit", moves: [{ token: fifth, legal: true }] });
    const short = tinyModel({ n_ctx: 4 }, { biasOn: fifth });
    expect(sampleOthello(short, Array.from(game.moves.slice(0, 4)))).toMatchObject({ stop: "context", moves: [{ token: fifth, legal: true }] });
    expect(() => sampleOthello(short, Array.from(game.moves.slice(0, 5)))).toThrow(/the prompt has 5 moves; the model reads at most n_ctx = 4/);
    const pad = tinyModel({}, { biasOn: 0 });
    expect(sampleOthello(pad, [game.moves[0]])).toMatchObject({ stop: "illegal", moves: [{ token: 0, square: null, legal: false }] });
    const wipeout = Array.from(parseOthelloMoves("c4 c3 c2 b4 a5 f4 g4 c5 d6")); // a 9-move game: white is wiped out
    const ended = sampleOthello(pad, wipeout);
    expect(ended).toMatchObject({ stop: "game-over", moves: [] });
    checkAgainstArrayOthello(ended);
    expect(() => sampleOthello(pad, [])).toThrow(/at least one move/);
    expect(() => sampleOthello(pad, [game.moves[0], game.moves[0]])).toThrow(/move 1: .* is not legal/);
    [constant, short, pad].forEach(disposeGpt);
  });
});

describe("chess sampling", () => {
  it("greedy = argmax character by character, up to the limit or n_ctx + 1 characters", () => {
    const model = tinyModel(CHESS, "random");
    const sample = sampleChess(model, ";1.e4 e5 2.", { maxTokens: 12 });
    expect(sample.stop).toBe("limit");
    expect(sample.generated).toHaveLength(12);
    const ids = Array.from(encodeChessText(sample.prompt));
    for (const char of sample.generated) {
      expect(char).toBe(CHESS_VOCAB[firstArgmax(lastLogits(model, ids))]);
      ids.push(CHESS_VOCAB.indexOf(char));
    }
    const long = ";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6 4.Ba4 Nf6 5.O-O Be7 6.Re1 b5 7.Bb3";
    const full = sampleChess(model, long);
    expect(full).toMatchObject({ stop: "context", prompt: long });
    expect(full.text).toHaveLength(65);
    expect(() => sampleChess(model, "1.e4")).toThrow(/starts with ";"/);
    disposeGpt(model);
  });

  it("is deterministic for a seed at a temperature, and different across seeds", () => {
    const model = tinyModel(CHESS, "random");
    const run = (seed: number) => sampleChess(model, ";1.", { temperature: 1, seed, maxTokens: 30 }).generated;
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
    disposeGpt(model);
  });

  it("counts the complete words that replay as legal SAN", () => {
    const e = tinyModel(CHESS, { biasOn: CHESS_VOCAB.indexOf("e") });
    const partial = sampleChess(e, ";1.e4 e5 2.Nf3 ", { maxTokens: 2 });
    expect(partial).toMatchObject({ text: ";1.e4 e5 2.Nf3 ee", legalPlies: 3, illegalWord: null, stop: "limit" });
    const expected = new Chess();
    ["e4", "e5", "Nf3"].forEach((san) => expected.move(san));
    expect(chessSampleGame(partial).fen()).toBe(expected.fen());
    const space = tinyModel(CHESS, { biasOn: CHESS_VOCAB.indexOf(" ") });
    expect(sampleChess(space, ";1.e4 e4", { maxTokens: 1 })).toMatchObject({ legalPlies: 1, illegalWord: "e4" });
    [e, space].forEach(disposeGpt);
  });
});
