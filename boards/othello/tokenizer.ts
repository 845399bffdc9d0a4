// Othello vocabulary (spec boards.md §1.4): pad 0, tokens 1..60 = playable squares ascending, no pass/BOS/EOS.

import { assertSquare, squareName } from "./squares.js";

export const PAD_TOKEN = 0;
export const OTHELLO_VOCAB_SIZE = 61;
/** Inputs are moves 0..58 and targets moves 1..59 of a game padded to 60. */
export const OTHELLO_CONTEXT_LENGTH = 59;
export const MAX_GAME_MOVES = 60;

export class OthelloTokenError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "OthelloTokenError";
  }
}

export function squareToToken(square: number): number {
  assertSquare(square);
  if (square <= 26) return square + 1;
  if (square >= 29 && square <= 34) return square - 1;
  if (square >= 37) return square - 3;
  throw new OthelloTokenError(`centre square ${squareName(square)} (${square}) is never played and has no token`);
}

export function tokenToSquare(token: number): number {
  if (!Number.isInteger(token) || token < 1 || token >= OTHELLO_VOCAB_SIZE) {
    throw new OthelloTokenError(`Othello move token must be an integer in [1, 60] (0 is padding), got ${token}`);
  }
  if (token <= 27) return token - 1;
  if (token <= 33) return token + 1;
  return token + 3;
}

/** Square ids in play order → tokens 1..60. */
export function encodeOthelloMoves(moves: ArrayLike<number>): Uint8Array {
  const tokens = new Uint8Array(moves.length);
  for (let i = 0; i < moves.length; i++) tokens[i] = squareToToken(moves[i]);
  return tokens;
}

/** Tokens → square ids; trailing padding is dropped, padding followed by a move is an error. */
export function decodeOthelloTokens(tokens: ArrayLike<number>): Uint8Array {
  let length = tokens.length;
  while (length > 0 && tokens[length - 1] === PAD_TOKEN) length--;
  const moves = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    if (tokens[i] === PAD_TOKEN) throw new OthelloTokenError(`padding token at position ${i} is followed by move tokens`);
    moves[i] = tokenToSquare(tokens[i]);
  }
  return moves;
}

/** A game's tokens right-padded with 0 to `length` (default 60 moves). */
export function padOthelloTokens(tokens: ArrayLike<number>, length = MAX_GAME_MOVES): Uint8Array {
  if (tokens.length > length) throw new OthelloTokenError(`a game of ${tokens.length} tokens does not fit ${length} positions`);
  const padded = new Uint8Array(length);
  for (let i = 0; i < tokens.length; i++) padded[i] = tokens[i];
  return padded;
}

/** Next-move prediction pair (spec §1.4): inputs = tokens 0..58, targets = tokens 1..59, zero-padded. */
export function othelloTrainingPair(tokens: ArrayLike<number>): { inputs: Uint8Array; targets: Uint8Array } {
  const padded = padOthelloTokens(tokens);
  return {
    inputs: padded.subarray(0, OTHELLO_CONTEXT_LENGTH),
    targets: padded.subarray(1, OTHELLO_CONTEXT_LENGTH + 1),
  };
}
