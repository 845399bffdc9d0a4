// Fast paths into chess.js 1.4's private move methods. The public `moves()` writes the SAN of every legal move and
// `move()` regenerates the moves and two FENs, which is ~5× the work of one ply; these wrappers do the same steps
// (`moves()` = _moves + _moveToSan each, `move()` = _moveFromSan + _makeMove + _incPositionCount, as loadPgn does)
// once. test/boards/chess/chess-internals.test.ts holds them equal to the public API.

import { Chess } from "chess.js";

/** chess.js's internal move record (0x88 squares); opaque here. */
export interface InternalMove {
  readonly flags: number;
}

interface ChessPrivate {
  _moves(options?: { legal?: boolean }): InternalMove[];
  _moveToSan(move: InternalMove, moves: InternalMove[]): string;
  _moveFromSan(san: string, strict?: boolean): InternalMove | null;
  _makeMove(move: InternalMove): void;
  _incPositionCount(): void;
}

const REQUIRED = ["_moves", "_moveToSan", "_moveFromSan", "_makeMove", "_incPositionCount"] as const;
for (const name of REQUIRED) {
  if (typeof (Chess.prototype as unknown as Record<string, unknown>)[name] !== "function") {
    throw new Error(`boards/chess/chess-internals.ts: the installed chess.js has no ${name}(); it was written for chess.js 1.4`);
  }
}

const internals = (chess: Chess): ChessPrivate => chess as unknown as ChessPrivate;

/** Legal moves in the order of `chess.moves()`. */
export function legalMoves(chess: Chess): InternalMove[] {
  return internals(chess)._moves({ legal: true });
}

/** SAN of `move`, one of `moves` = legalMoves(chess) (the list decides disambiguation). */
export function sanOfMove(chess: Chess, move: InternalMove, moves: InternalMove[]): string {
  return internals(chess)._moveToSan(move, moves);
}

/** Plays a legal move, counting the position for threefold repetition as `move()` does. */
export function playMove(chess: Chess, move: InternalMove): void {
  internals(chess)._makeMove(move);
  internals(chess)._incPositionCount();
}

/** Plays `san` if chess.js's strict SAN parser finds it legal; false (board unchanged) otherwise. Null moves are refused. */
export function playSan(chess: Chess, san: string): boolean {
  if (san.startsWith("--")) return false;
  const move = internals(chess)._moveFromSan(san, true);
  if (move === null) return false;
  playMove(chess, move);
  return true;
}
