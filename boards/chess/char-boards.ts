// The board every character of a movetext sees (spec boards.md §3.3): B_k = board after k half-moves, m(p) = spaces in
// c_0..c_p, and character p sees B_min(m(p), K), K = half-moves applied before the first word that is not a legal SAN.

import { Chess } from "chess.js";
import { playSan } from "./chess-internals.js";
import { sanOfWord } from "./movetext.js";
import { boardValues, type ChessBoardValues } from "./pieces.js";

export interface ChessCharBoards {
  /** Characters considered: the first min(limit, movetext length). */
  positions: number;
  /** Half-moves applied: the characters see B_0..B_plies (plies = min(K, spaces among the characters)). */
  plies: number;
  /** [plies + 1] B_k as piece values by square id. */
  boards: ChessBoardValues[];
  /** [positions] the k of the board B_k character p sees. */
  boardOfChar: Uint16Array;
}

export interface ChessCharBoardOptions {
  /** Characters considered (default: the whole movetext); e.g. 256 for SAE work (spec §2.2). */
  positions?: number;
  /** Called with the game at each B_k, k = 0..plies, in order; the game is mutated afterwards. */
  visit?: (chess: Chess, ply: number) => void;
}

/**
 * Replays the movetext as far as its first `positions` characters need. Only complete words are applied (a word's own
 * characters never see the board after it), so a move cut in half by truncation is ignored (spec §2.2).
 */
export function chessCharBoards(movetext: string, options: ChessCharBoardOptions = {}): ChessCharBoards {
  const limit = options.positions ?? movetext.length;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`chessCharBoards: positions must be a non-negative integer, got ${limit}`);
  }
  const text = movetext.slice(0, limit);
  const words = text.split(" "); // words[j] is followed by space j + 1; B_j needs words 0..j−1
  const chess = new Chess();
  const boards: ChessBoardValues[] = [boardValues(chess)];
  options.visit?.(chess, 0);
  for (let j = 0; j < words.length - 1; j++) {
    if (!playSan(chess, sanOfWord(words[j]))) break;
    boards.push(boardValues(chess));
    options.visit?.(chess, j + 1);
  }
  const plies = boards.length - 1;
  const boardOfChar = new Uint16Array(text.length);
  let spaces = 0;
  for (let p = 0; p < text.length; p++) {
    if (text.charCodeAt(p) === 32) spaces++;
    boardOfChar[p] = Math.min(spaces, plies);
  }
  return { positions: text.length, plies, boards, boardOfChar };
}
