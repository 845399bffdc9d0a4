// The chess legal-move rate (spec model.md §4): move starts on hand-written movetext, the SAN judgement against
// chess.js's public API, the seeded choice of prompts, batched greedy decoding, and an end-to-end run with a model
// whose greedy output is known (a hand-set bigram: the next character depends only on the last one).

import type * as tfTypes from "@tensorflow/tfjs";
import { Chess } from "chess.js";
import { beforeAll, describe, expect, it } from "vitest";
import { generateRandomChessGames } from "../../boards/chess/random-games.js";
import { CHESS_VOCAB } from "../../boards/chess/tokenizer.js";
import type { ChessGameRow } from "../../boards/game-dataset.js";
import { initTfjs } from "../../compute/tfjs.js";
import {
  chessEvalPrompts, chessLegalMoveRate, chessMoveStarts, greedyChessContinuations, isLegalChessPrediction, legalSansWithoutSuffix,
  scoreChessPrompts, withoutCheckSuffix,
} from "../../model/chess-eval.js";
import { parseGptConfig, type GptConfig } from "../../model/config.js";
import { evaluateModel } from "../../model/evaluate.js";
import { createGpt, disposeGpt, type Gpt } from "../../model/gpt.js";
import { randomArray } from "../compute/random.js";

let tf: typeof tfTypes;
beforeAll(async () => {
  tf = (await initTfjs()).tf;
});

function tinyChessConfig(seed = 3): GptConfig {
  return parseGptConfig({
    format: "sae-circuits.gpt", format_version: 1, model_name: "tiny-chess", game: "chess", tokenizer: "chess-32",
    n_layers: 1, d_model: 32, n_heads: 2, d_head: 16, d_mlp: 32, d_vocab: 32, n_ctx: 64, pad_token_id: null, seed,
  });
}

/** Every parameter random and O(1), so greedy outputs vary with the whole context. */
function randomChessModel(): Gpt {
  const model = createGpt(tf, tinyChessConfig());
  let seed = 300;
  for (const [name, variable] of model.params) {
    const values = randomArray(variable.size, seed++, 0.7);
    if (/ln.*\.w$/.test(name)) values.forEach((v, i) => (values[i] = 1 + v));
    variable.assign(tf.tensor(values, variable.shape));
  }
  return model;
}

/** Hand-set next characters; every other character is followed by "a", and "a"/"b" alternate forever. */
const BIGRAM: Record<string, string> = { ".": "e", e: "4", "4": " ", " ": "N", N: "c", c: "6", "6": " ", a: "b", b: "a" };
const nextChar = (c: string): string => BIGRAM[c] ?? "a";

/**
 * A model computing BIGRAM: blocks all zero (they add nothing), W_pos 0, W_E = identity, so the final LayerNorm sees
 * the last character's one-hot and W_U[c][next(c)] = 1 makes next(c) the unique positive logit.
 */
function bigramModel(): Gpt {
  const model = createGpt(tf, tinyChessConfig());
  const V = CHESS_VOCAB.length;
  for (const [name, variable] of model.params) {
    const values = new Float32Array(variable.size);
    if (/ln.*\.w$/.test(name)) values.fill(1);
    if (name === "embed.W_E") for (let c = 0; c < V; c++) values[c * V + c] = 1;
    if (name === "unembed.W_U") for (let c = 0; c < V; c++) values[c * V + CHESS_VOCAB.indexOf(nextChar(CHESS_VOCAB[c]))] = 1;
    variable.assign(tf.tensor(values, variable.shape));
  }
  return model;
}

/** The bigram model's greedy continuation, walked in plain JS. */
function bigramContinuation(prompt: string): string {
  let text = "";
  let last = prompt.at(-1)!;
  while (text.length < 8 && nextChar(last) !== " ") text += last = nextChar(last);
  return text;
}

function chessRow(moves: string, index = 0): ChessGameRow {
  return {
    gameId: `hand-0-${index}`, game: "chess", source: "pgn", moves, tokens: null, length: moves.split(" ").length,
    nChars: moves.length, result: "*", seed: null, meta: "{}", split: "val",
  };
}

/** Legal SANs (suffix stripped) after a prompt's complete words, by chess.js's public move()/moves(). */
function publicLegalSans(prompt: string): Set<string> {
  const chess = new Chess();
  for (const word of prompt.split(" ").slice(0, -1)) chess.move(word.replace(/^;?(\d+\.)?/, ""));
  return new Set(chess.moves().map((san) => san.replace(/[+#]$/, "")));
}

const randomGames = (count: number, seed: number): ChessGameRow[] => generateRandomChessGames({ count, seed, maxChars: 120 });

describe("move starts", () => {
  it("starts right after <n>. for White and after the space for Black, two-digit numbers included", () => {
    const text = ";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6";
    expect(chessMoveStarts(text)).toEqual([
      { position: 3, ply: 0 }, { position: 6, ply: 1 }, { position: 11, ply: 2 },
      { position: 15, ply: 3 }, { position: 21, ply: 4 }, { position: 25, ply: 5 },
    ]);
    const long = ";1.d4 d5 2.c4 e6 3.Nc3 Nf6 4.Bg5 Be7 5.e3 O-O 6.Nf3 Nbd7 7.Rc1 c6 8.Bd3 dxc4 9.Bxc4 Nd5 10.Bxe7 Qxe7 11.O-O";
    const starts = chessMoveStarts(long);
    expect(starts).toHaveLength(21);
    expect(starts.map((start) => long.slice(start.position).split(" ")[0])).toEqual(long.split(" ").map((word) => word.replace(/^;?\d+\./, "")));
    expect(long.slice(starts[18].position - 4, starts[18].position)).toBe(" 10."); // White's 10th move
    expect(long.slice(starts[19].position - 5, starts[19].position)).toBe("Bxe7 "); // Black's reply
    expect(chessMoveStarts("")).toEqual([]);
  });
});

describe("SAN judgement", () => {
  it("strips one trailing + or # and compares exactly with chess.js's SANs", () => {
    const scholar = new Chess();
    for (const san of ["e4", "e5", "Bc4", "Nc6", "Qh5", "Nf6"]) scholar.move(san);
    const sans = legalSansWithoutSuffix(scholar);
    expect(sans).toEqual(new Set(scholar.moves().map((san) => san.replace(/[+#]$/, ""))));
    expect(scholar.moves()).toContain("Qxf7#");
    expect(["Qxf7#", "Qxf7", "Qxf7+"].map((p) => isLegalChessPrediction(p, sans))).toEqual([true, true, true]);
    expect(["Qf7", "Qxf7#+", "Qxf7##", "qxf7", "Qxf8"].map((p) => isLegalChessPrediction(p, sans))).toEqual([false, false, false, false, false]);
    expect(withoutCheckSuffix("e4++")).toBe("e4+");
  });

  it("needs the promotion written as e8=Q", () => {
    const promotion = new Chess("k7/4P3/8/8/8/8/8/4K3 w - - 0 1");
    const sans = legalSansWithoutSuffix(promotion);
    expect(promotion.moves()).toContain("e8=Q+");
    expect(sans.has("e8=Q") && sans.has("e8=N")).toBe(true);
    expect(["e8=Q", "e8=Q+", "e8=R+", "e8=N", "e8=B"].map((p) => isLegalChessPrediction(p, sans))).toEqual([true, true, true, true, true]);
    expect(["e8Q", "e8", "e8=K", "e8=Q++", "e8=q"].map((p) => isLegalChessPrediction(p, sans))).toEqual([false, false, false, false, false]);
  });

  it("accepts castling as O-O / O-O-O, not with zeros", () => {
    const castling = new Chess("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
    const sans = legalSansWithoutSuffix(castling);
    expect(["O-O", "O-O-O", "O-O+"].map((p) => isLegalChessPrediction(p, sans))).toEqual([true, true, true]);
    expect(["0-0", "0-0-0", "O-O-O-O", "OO"].map((p) => isLegalChessPrediction(p, sans))).toEqual([false, false, false, false]);
  });
});

describe("prompts", () => {
  it("takes min(5, fitting starts) per game, seeded, with the position's legal moves", () => {
    const rows = randomGames(12, 4);
    const nCtx = 40;
    const prompts = chessEvalPrompts(rows, nCtx, { seed: 9 });
    rows.forEach((row, game) => {
      const fitting = chessMoveStarts(row.moves).filter((start) => start.position + 8 <= nCtx);
      const mine = prompts.filter((prompt) => prompt.game === game);
      expect(mine).toHaveLength(Math.min(5, fitting.length));
      const positions = mine.map((prompt) => prompt.prompt.length);
      expect(positions).toEqual([...new Set(positions)].sort((a, b) => a - b)); // distinct, in text order
      for (const prompt of mine) {
        expect(fitting).toContainEqual({ position: prompt.prompt.length, ply: prompt.ply });
        expect(row.moves.startsWith(prompt.prompt)).toBe(true);
        expect(prompt.legalSans).toEqual(publicLegalSans(prompt.prompt));
        // the move the game played there is one of them
        expect(prompt.legalSans.has(withoutCheckSuffix(row.moves.slice(prompt.prompt.length).split(" ")[0]))).toBe(true);
      }
    });
    expect(chessEvalPrompts(rows, nCtx, { seed: 9 })).toEqual(prompts);
    expect(chessEvalPrompts(rows, nCtx, { seed: 10 }).map((p) => p.prompt)).not.toEqual(prompts.map((p) => p.prompt));
    expect(chessEvalPrompts(rows, nCtx, { seed: 9, promptsPerGame: 2 }).length).toBeLessThanOrEqual(2 * rows.length);
    expect(() => chessEvalPrompts(rows, nCtx, { seed: 9, promptsPerGame: 0 })).toThrow(/promptsPerGame must be a positive integer, got 0/);
  });

  it("draws every fitting start under some seed, and stops at a word that does not replay", () => {
    const row = chessRow(";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6 4.Ba4 Nf6");
    const seen = new Set<number>();
    for (let seed = 0; seed < 40; seed++) for (const prompt of chessEvalPrompts([row], 256, { seed })) seen.add(prompt.ply);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const broken = chessRow(";1.e4 e5 2.Ke3 Nc6 3.Nf3 Nf6", 1); // Ke3 is illegal: B_3 onwards is unknown
    expect(chessEvalPrompts([broken], 256, { seed: 1 }).map((prompt) => prompt.ply)).toEqual([0, 1, 2]);
    expect(chessEvalPrompts([chessRow(";1.e4 e5")], 11, { seed: 1 }).map((p) => p.prompt)).toEqual([";1."]); // 3 + 8 ≤ 11 < 6 + 8
    expect(chessEvalPrompts([chessRow(";1.e4 e5")], 10, { seed: 1 })).toEqual([]);
  });
});

describe("scoring with an injected decoder", () => {
  it("counts the game's own moves legal and the prompt-independent 'e4' only where it is", () => {
    const rows = randomGames(6, 2);
    const prompts = chessEvalPrompts(rows, 64, { seed: 3 });
    const played = (prompt: string) => rows.find((row) => row.moves.startsWith(prompt))!.moves.slice(prompt.length).split(" ")[0];
    expect(scoreChessPrompts(prompts, (texts) => texts.map(played))).toEqual({ prompts: prompts.length, legal: prompts.length, rate: 1 });
    // with a check sign appended: one sign is stripped, two are not
    expect(scoreChessPrompts(prompts, (texts) => texts.map((t) => withoutCheckSuffix(played(t)) + "+")).rate).toBe(1);
    expect(scoreChessPrompts(prompts, (texts) => texts.map((t) => withoutCheckSuffix(played(t)) + "++")).rate).toBe(0);
    const e4 = prompts.filter((prompt) => publicLegalSans(prompt.prompt).has("e4")).length;
    expect(scoreChessPrompts(prompts, (texts) => texts.map(() => "e4"))).toEqual({ prompts: prompts.length, legal: e4, rate: e4 / prompts.length });
    expect(scoreChessPrompts([], () => []).rate).toBeNaN();
    expect(() => scoreChessPrompts(prompts, () => [])).toThrow(/returned 0 continuations for/);
  });
});

describe("greedy decoding with a model", () => {
  it("decodes the bigram model's known continuations, stopping at a space or after 8 characters", () => {
    const model = bigramModel();
    const prompts = [";1.", ";1.e4 ", ";1.a", ";1.e4 e5 2.Nf3 Nc6 3.", ";1.e4 e5 2.Nf3 4"];
    expect(greedyChessContinuations(model, prompts, { batchSize: 2 })).toEqual(["e4", "Nc6", "babababa", "e4", ""]);
    expect(prompts.map(bigramContinuation)).toEqual(["e4", "Nc6", "babababa", "e4", ""]);
    disposeGpt(model);
  });

  it("gives every prompt the same continuation batched with others as alone (right padding is never read)", () => {
    const model = randomChessModel();
    const prompts = chessEvalPrompts(randomGames(8, 5), 64, { seed: 1 }).map((prompt) => prompt.prompt);
    const batched = greedyChessContinuations(model, prompts, { batchSize: 16 });
    const alone = greedyChessContinuations(model, prompts, { batchSize: 1 });
    expect(batched).toEqual(alone);
    expect(new Set(batched).size).toBeGreaterThan(3); // the random model writes varied text
    disposeGpt(model);
  });

  it("scores the bigram model end to end as chess.js judges its known moves (e4 for White, Nc6 for Black)", () => {
    const model = bigramModel();
    const rows = randomGames(20, 7);
    const prompts = chessEvalPrompts(rows, 64, { seed: 5 });
    const expected = prompts.filter((prompt) => publicLegalSans(prompt.prompt).has(bigramContinuation(prompt.prompt))).length;
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(prompts.length);
    const result = chessLegalMoveRate(model, rows, { seed: 5 });
    expect(result).toEqual({ prompts: prompts.length, legal: expected, rate: expected / prompts.length });
    disposeGpt(model);
  });

  it("runs on a random-init model: 0 ≤ rate ≤ 1 over the expected prompt count, and evaluateModel reports it", () => {
    const model = createGpt(tf, tinyChessConfig(11));
    const before = tf.memory().numTensors;
    const rows = randomGames(10, 1);
    const expectedPrompts = rows.reduce((sum, row) => sum + Math.min(5, chessMoveStarts(row.moves).filter((s) => s.position + 8 <= 64).length), 0);
    const result = chessLegalMoveRate(model, rows, { seed: 2 });
    expect(result.prompts).toBe(expectedPrompts);
    expect(Number.isInteger(result.legal)).toBe(true);
    expect(result.rate).toBeGreaterThanOrEqual(0);
    expect(result.rate).toBeLessThanOrEqual(1);
    const evaluation = evaluateModel(model, rows, 64, { seed: 2 });
    expect(evaluation.legalRate).toBe(result.rate);
    expect(evaluation.loss).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    disposeGpt(model);
    const othello = createGpt(tf, { ...tinyChessConfig(), game: "othello" });
    expect(() => chessLegalMoveRate(othello, rows, { seed: 0 })).toThrow(/plays othello, not chess/);
    disposeGpt(othello);
  });
});
