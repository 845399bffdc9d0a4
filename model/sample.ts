// Continuing games with a trained GPT: next-token logits for a batch of sequences of different lengths, greedy or
// temperature sampling, and the two game loops behind `saec model sample` — Othello move by move (each move judged
// by the engine) and chess character by character.

import { Chess } from "chess.js";
import { chessCharBoards } from "../boards/chess/char-boards.js";
import { decodeChessIds, encodeChessText } from "../boards/chess/tokenizer.js";
import { OthelloBoard } from "../boards/othello/engine.js";
import { replayOthello } from "../boards/othello/replay.js";
import { PAD_TOKEN, squareToToken, tokenToSquare } from "../boards/othello/tokenizer.js";
import { xoshiro128, type RandomStream } from "../boards/random.js";
import { forward, type Gpt } from "./gpt.js";

/** A sampling request the model or the game cannot serve (bad temperature, prompt too long, wrong game…). */
export class SampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SampleError";
  }
}

/**
 * Logits for the token after each sequence: one forward over the sequences right-padded to the longest, read at
 * each row's last real position (causal attention: padding after a position never changes it). [count · V].
 */
export function nextTokenLogits(model: Gpt, sequences: readonly ArrayLike<number>[]): Float32Array {
  const { tf, config } = model;
  const V = config.d_vocab;
  const B = sequences.length;
  if (B === 0) return new Float32Array(0);
  let T = 0;
  sequences.forEach((sequence, row) => {
    if (sequence.length < 1 || sequence.length > config.n_ctx) {
      throw new SampleError(`sequence ${row} has ${sequence.length} tokens; the model reads 1..n_ctx = ${config.n_ctx}`);
    }
    T = Math.max(T, sequence.length);
  });
  const tokens = new Int32Array(B * T); // right padding with id 0; pad positions are never read
  const lastPositions = new Int32Array(B);
  sequences.forEach((sequence, row) => {
    for (let i = 0; i < sequence.length; i++) tokens[row * T + i] = sequence[i];
    lastPositions[row] = row * T + sequence.length - 1;
  });
  return tf.tidy(() => {
    const logits = forward(model, tf.tensor2d(tokens, [B, T], "int32")).reshape([B * T, V]);
    return tf.gather(logits, tf.tensor1d(lastPositions, "int32")).dataSync() as Float32Array;
  });
}

/** Index of the largest of logits[offset .. offset+count), the first one on ties (as tf.argMax). */
export function argmax(logits: ArrayLike<number>, offset = 0, count = logits.length - offset): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (logits[offset + i] > logits[offset + best]) best = i;
  return best;
}

/**
 * A token id from one row of logits: the argmax at temperature 0, else a draw from softmax(logits / T) (float64,
 * one uniform 32-bit number from `random` per draw).
 */
export function chooseToken(logits: ArrayLike<number>, temperature: number, random: RandomStream, offset = 0, count = logits.length - offset): number {
  checkTemperature(temperature);
  const best = argmax(logits, offset, count);
  if (temperature === 0) return best;
  const weights = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) total += weights[i] = Math.exp((logits[offset + i] - logits[offset + best]) / temperature);
  const target = (random() / 0x100000000) * total;
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += weights[i];
    if (target < cumulative) return i;
  }
  return best; // target within rounding of the total
}

function checkTemperature(temperature: number): void {
  if (!Number.isFinite(temperature) || temperature < 0) throw new SampleError(`temperature must be a finite number ≥ 0, got ${temperature}`);
}

export interface SampleOptions {
  /** Most tokens to generate (Othello moves, chess characters); default: until the context is full. */
  maxTokens?: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Seed of the sampling stream (unused when greedy). */
  seed?: number;
}

function samplingStream(options: SampleOptions): { temperature: number; maxTokens: number; random: RandomStream } {
  const temperature = options.temperature ?? 0;
  checkTemperature(temperature);
  const maxTokens = options.maxTokens ?? Infinity;
  if (maxTokens !== Infinity && (!Number.isInteger(maxTokens) || maxTokens < 0)) {
    throw new SampleError(`the number of tokens to generate must be a non-negative integer, got ${maxTokens}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new SampleError(`seed must be an integer in [0, 2^32), got ${seed}`);
  return { temperature, maxTokens, random: xoshiro128(seed, 0) };
}

function checkGame(model: Gpt, game: "othello" | "chess"): void {
  if (model.config.game !== game) throw new SampleError(`${model.config.model_name} plays ${model.config.game}, not ${game}`);
}

// ── Othello ─────────────────────────────────────────────────────────────────────────────────────────────────────

export interface OthelloSampleMove {
  token: number;
  /** The square played, null for the pad token. */
  square: number | null;
  /** Legal for the player to move (pass-aware); the pad token never is. */
  legal: boolean;
}

/** Why generation ended: an illegal move, the game's end, a full context, or the requested count. */
export type SampleStop = "illegal" | "game-over" | "context" | "limit";

export interface OthelloSample {
  /** The prompt's squares. */
  prompt: number[];
  /** Generated moves in order; only the last can be illegal. */
  moves: OthelloSampleMove[];
  /** The position after the prompt and every legal generated move. */
  board: OthelloBoard;
  stop: SampleStop;
}

/**
 * Continues an Othello game (prompt: square ids in play order, at least one, replayed strictly) move by move,
 * judging each generated move with the engine; stops at the first illegal move, the game's end, n_ctx, or
 * `maxTokens` moves.
 */
export function sampleOthello(model: Gpt, prompt: ArrayLike<number>, options: SampleOptions = {}): OthelloSample {
  checkGame(model, "othello");
  const { temperature, maxTokens, random } = samplingStream(options);
  const T = model.config.n_ctx;
  if (prompt.length < 1) throw new SampleError("an Othello prompt needs at least one move (the model has no start token)");
  if (prompt.length > T) throw new SampleError(`the prompt has ${prompt.length} moves; the model reads at most n_ctx = ${T}`);
  const { board } = replayOthello(prompt, "prompt");
  const tokens = Array.from(prompt, squareToToken);
  const moves: OthelloSampleMove[] = [];
  for (;;) {
    if (board.gameOver) return { prompt: Array.from(prompt), moves, board, stop: "game-over" };
    if (tokens.length > T) return { prompt: Array.from(prompt), moves, board, stop: "context" };
    if (moves.length >= maxTokens) return { prompt: Array.from(prompt), moves, board, stop: "limit" };
    const token = chooseToken(nextTokenLogits(model, [tokens]), temperature, random);
    const square = token === PAD_TOKEN ? null : tokenToSquare(token);
    const legal = square !== null && board.isLegal(square);
    moves.push({ token, square, legal });
    if (!legal) return { prompt: Array.from(prompt), moves, board, stop: "illegal" };
    board.play(square);
    tokens.push(token);
  }
}

// ── Chess ───────────────────────────────────────────────────────────────────────────────────────────────────────

export interface ChessSample {
  prompt: string;
  /** The characters generated after the prompt. */
  generated: string;
  /** prompt + generated. */
  text: string;
  /** Complete words (followed by a space) of the text that replay as legal SAN from the start. */
  legalPlies: number;
  /** The first complete word that is not a legal SAN in its position, if any. */
  illegalWord: string | null;
  stop: Exclude<SampleStop, "illegal" | "game-over">;
}

/**
 * Continues chess movetext (starting with `;`) character by character: at most `maxTokens` characters, and never
 * past n_ctx + 1 characters in all (the last input position predicts the next character).
 */
export function sampleChess(model: Gpt, prompt: string, options: SampleOptions = {}): ChessSample {
  checkGame(model, "chess");
  const { temperature, maxTokens, random } = samplingStream(options);
  const T = model.config.n_ctx;
  if (!prompt.startsWith(";")) throw new SampleError(`chess movetext starts with ";" (e.g. ";1."), got ${JSON.stringify(prompt)}`);
  if (prompt.length > T) throw new SampleError(`the prompt has ${prompt.length} characters; the model reads at most n_ctx = ${T}`);
  const ids = Array.from(encodeChessText(prompt));
  let stop: ChessSample["stop"];
  for (;;) {
    if (ids.length > T) {
      stop = "context";
      break;
    }
    if (ids.length - prompt.length >= maxTokens) {
      stop = "limit";
      break;
    }
    ids.push(chooseToken(nextTokenLogits(model, [ids]), temperature, random));
  }
  const text = decodeChessIds(ids);
  const { plies } = chessCharBoards(text);
  const words = text.split(" ");
  const illegalWord = plies < words.length - 1 ? words[plies] : null;
  return { prompt, generated: text.slice(prompt.length), text, legalPlies: plies, illegalWord, stop };
}

/** The chess.js game after the legal plies of a sample (for printing a board). */
export function chessSampleGame(sample: ChessSample): Chess {
  let game = new Chess();
  chessCharBoards(sample.text, {
    visit: (chess, ply) => {
      if (ply === sample.legalPlies) game = new Chess(chess.fen());
    },
  });
  return game;
}
