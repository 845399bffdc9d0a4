// Chess legal-move rate (spec model.md §4): per game, up to 5 seeded move starts whose prefix + 8 characters fit
// n_ctx; the model greedily writes ≤ 8 characters after each prefix, cut before the first space; a prediction is
// legal iff, less one trailing `+`/`#`, it equals the SAN (less its suffix) of a legal move of the position.

import { Chess } from "chess.js";
import type { ChessGameRow } from "../boards/game-dataset.js";
import { chessCharBoards } from "../boards/chess/char-boards.js";
import { legalMoves, sanOfMove } from "../boards/chess/chess-internals.js";
import { sanOfWord } from "../boards/chess/movetext.js";
import { CHESS_VOCAB, encodeChessText } from "../boards/chess/tokenizer.js";
import { randomBelow, xoshiro128 } from "../boards/random.js";
import type { Gpt } from "./gpt.js";
import { argmax, nextTokenLogits } from "./sample.js";

/** Characters the model may write for one move (spec §4). */
export const CHESS_MOVE_CHARS = 8;
export const CHESS_PROMPTS_PER_GAME = 5;

/** Where half-move `ply`'s SAN begins: the prompt is movetext[0 .. position). */
export interface ChessMoveStart {
  position: number;
  ply: number;
}

/** Every move start of a movetext: right after `<n>.` for White, right after the space before Black's move. */
export function chessMoveStarts(movetext: string): ChessMoveStart[] {
  if (movetext.length === 0) return [];
  const starts: ChessMoveStart[] = [];
  let offset = 0;
  movetext.split(" ").forEach((word, ply) => {
    starts.push({ position: offset + word.length - sanOfWord(word).length, ply });
    offset += word.length + 1;
  });
  return starts;
}

/** A SAN less one trailing check or mate sign ("Qxf7#" → "Qxf7"; "e4++" → "e4+"). */
export function withoutCheckSuffix(san: string): string {
  return /[+#]$/.test(san) ? san.slice(0, -1) : san;
}

/** Whether a decoded prediction names a legal move: one trailing `+`/`#` stripped, then exact SAN equality. */
export function isLegalChessPrediction(prediction: string, legalSans: ReadonlySet<string>): boolean {
  return legalSans.has(withoutCheckSuffix(prediction));
}

/** SANs (check suffix removed) of every legal move of a position. */
export function legalSansWithoutSuffix(chess: Chess): Set<string> {
  const moves = legalMoves(chess);
  return new Set(moves.map((move) => withoutCheckSuffix(sanOfMove(chess, move, moves))));
}

/** One evaluation prompt: the text before a move start of game `game` (index into the rows) and the legal answers. */
export interface ChessEvalPrompt {
  game: number;
  gameId: string;
  ply: number;
  prompt: string;
  legalSans: ReadonlySet<string>;
}

export interface ChessEvalOptions {
  /** Chooses the move starts: game i draws from xoshiro128(seed, i). */
  seed: number;
  promptsPerGame?: number;
}

/**
 * The prompts of spec §4: per game, up to `promptsPerGame` move starts drawn without replacement (seeded) among those
 * with position + 8 ≤ n_ctx whose position the game replays to, in text order.
 */
export function chessEvalPrompts(rows: readonly ChessGameRow[], nCtx: number, options: ChessEvalOptions): ChessEvalPrompt[] {
  const perGame = options.promptsPerGame ?? CHESS_PROMPTS_PER_GAME;
  if (!Number.isInteger(perGame) || perGame < 1) throw new RangeError(`promptsPerGame must be a positive integer, got ${perGame}`);
  const prompts: ChessEvalPrompt[] = [];
  rows.forEach((row, game) => {
    if (row.game !== "chess") throw new Error(`game ${row.gameId} is ${row.game}, not chess`);
    const fitting = chessMoveStarts(row.moves).filter((start) => start.position >= 1 && start.position + CHESS_MOVE_CHARS <= nCtx);
    if (fitting.length === 0) return;
    // B_k for each candidate k, kept as FEN: a word that does not replay cuts the candidates there
    const fens: string[] = [];
    chessCharBoards(row.moves, { positions: fitting.at(-1)!.position, visit: (chess) => void fens.push(chess.fen()) });
    const candidates = fitting.filter((start) => start.ply < fens.length);
    const random = xoshiro128(options.seed, game);
    const count = Math.min(perGame, candidates.length);
    const order = candidates.map((_, i) => i);
    for (let i = 0; i < count; i++) {
      const j = i + randomBelow(random, order.length - i); // partial Fisher–Yates
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const index of order.slice(0, count).sort((a, b) => a - b)) {
      const { position, ply } = candidates[index];
      prompts.push({ game, gameId: row.gameId, ply, prompt: row.moves.slice(0, position), legalSans: legalSansWithoutSuffix(new Chess(fens[ply])) });
    }
  });
  return prompts;
}

/**
 * Greedy continuations of many prompts at once: up to `maxChars` characters each, ending before the first space
 * (the space is not returned). Prompts are batched by length so each forward pads little.
 */
export function greedyChessContinuations(
  model: Gpt,
  prompts: readonly string[],
  options: { maxChars?: number; batchSize?: number } = {},
): string[] {
  const maxChars = options.maxChars ?? CHESS_MOVE_CHARS;
  const batchSize = options.batchSize ?? 32;
  const V = model.config.d_vocab;
  const SPACE = CHESS_VOCAB.indexOf(" ");
  const continuations = prompts.map(() => "");
  const byLength = prompts.map((_, i) => i).sort((a, b) => prompts[a].length - prompts[b].length);
  for (let start = 0; start < byLength.length; start += batchSize) {
    let active = byLength.slice(start, start + batchSize);
    const sequences = new Map(active.map((index) => [index, Array.from(encodeChessText(prompts[index]))]));
    for (let step = 0; step < maxChars && active.length > 0; step++) {
      const logits = nextTokenLogits(model, active.map((index) => sequences.get(index)!));
      const next: number[] = [];
      active.forEach((index, row) => {
        const id = argmax(logits, row * V, V);
        if (id === SPACE) return;
        sequences.get(index)!.push(id);
        continuations[index] += CHESS_VOCAB[id];
        if (sequences.get(index)!.length <= model.config.n_ctx) next.push(index);
      });
      active = next;
    }
  }
  return continuations;
}

export interface ChessLegalMoveRate {
  prompts: number;
  legal: number;
  /** legal / prompts; NaN without prompts. */
  rate: number;
}

/** Judges the continuations `decode` writes for the prompts (one string per prompt, in order). */
export function scoreChessPrompts(prompts: readonly ChessEvalPrompt[], decode: (prompts: readonly string[]) => string[]): ChessLegalMoveRate {
  const predictions = decode(prompts.map((prompt) => prompt.prompt));
  if (predictions.length !== prompts.length) throw new Error(`the decoder returned ${predictions.length} continuations for ${prompts.length} prompts`);
  const legal = prompts.filter((prompt, i) => isLegalChessPrediction(predictions[i], prompt.legalSans)).length;
  return { prompts: prompts.length, legal, rate: prompts.length > 0 ? legal / prompts.length : NaN };
}

/** The chess legal-move rate of spec §4 for `model` on `rows`. */
export function chessLegalMoveRate(
  model: Gpt,
  rows: readonly ChessGameRow[],
  options: ChessEvalOptions & { batchSize?: number },
): ChessLegalMoveRate {
  if (model.config.game !== "chess") throw new Error(`${model.config.model_name} plays ${model.config.game}, not chess`);
  const prompts = chessEvalPrompts(rows, model.config.n_ctx, options);
  return scoreChessPrompts(prompts, (texts) => greedyChessContinuations(model, texts, { batchSize: options.batchSize }));
}
