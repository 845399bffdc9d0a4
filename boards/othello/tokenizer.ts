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

/** A token sequence that is not a game: names the game (when known), the position and the token id. */
export class OthelloTokenSequenceError extends OthelloTokenError {
  constructor(
    readonly gameId: string | null,
    readonly position: number,
    readonly token: number,
    reason: string,
  ) {
    super(`${gameId === null ? "" : `game ${gameId}, `}position ${position}: token ${token} ${reason}`);
    this.name = "OthelloTokenSequenceError";
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

/**
 * Tokens → square ids; trailing padding is dropped. Padding followed by a move, or an id outside 0..60, is an
 * OthelloTokenSequenceError naming `gameId` (when given), the position and the id.
 */
export function decodeOthelloTokens(tokens: ArrayLike<number>, gameId: string | null = null): Uint8Array {
  let length = tokens.length;
  while (length > 0 && tokens[length - 1] === PAD_TOKEN) length--;
  const moves = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const token = tokens[i];
    if (token === PAD_TOKEN) throw new OthelloTokenSequenceError(gameId, i, token, "(padding) is followed by move tokens");
    if (!Number.isInteger(token) || token < 1 || token >= OTHELLO_VOCAB_SIZE) {
      throw new OthelloTokenSequenceError(gameId, i, token, "is not an Othello token: expected 1..60 (0 is padding)");
    }
    moves[i] = tokenToSquare(token);
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
