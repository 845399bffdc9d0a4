// Strict transcript replay (spec boards.md §1.2): every token must be legal for the true mover after passes.

import { colorName, OthelloBoard, type OthelloResult } from "./engine.js";
import { squareName } from "./squares.js";

/** A transcript that is not a legal Othello game: names the game, the move index and the square. */
export class OthelloTranscriptError extends Error {
  constructor(
    readonly gameId: string,
    readonly moveIndex: number,
    readonly square: number,
    readonly reason: string,
  ) {
    super(`game ${gameId}, move ${moveIndex}: ${reason}`);
    this.name = "OthelloTranscriptError";
  }
}

export interface OthelloReplay {
  /** The final position. */
  board: OthelloBoard;
  result: OthelloResult;
}

/**
 * Replays square ids in play order from the start position. `visit` sees the board after each move i
 * (the state BSPs describe at position i, spec §3.2); the board is mutated afterwards, clone it to keep it.
 */
export function replayOthello(
  moves: ArrayLike<number>,
  gameId: string,
  visit?: (board: OthelloBoard, moveIndex: number) => void,
): OthelloReplay {
  const board = OthelloBoard.start();
  for (let moveIndex = 0; moveIndex < moves.length; moveIndex++) {
    const square = moves[moveIndex];
    if (!Number.isInteger(square) || square < 0 || square > 63) {
      throw new OthelloTranscriptError(gameId, moveIndex, square, `square id must be an integer in [0, 63], got ${square}`);
    }
    if (board.gameOver) {
      throw new OthelloTranscriptError(gameId, moveIndex, square, `${squareName(square)} played after the game ended`);
    }
    if (!board.isLegal(square)) {
      const legal = board.legalMoves().map(squareName).join(" ");
      throw new OthelloTranscriptError(
        gameId,
        moveIndex,
        square,
        `${squareName(square)} (square ${square}) is not legal for ${colorName(board.sideToMove)}, the player to move; legal: ${legal}`,
      );
    }
    board.play(square);
    visit?.(board, moveIndex);
  }
  return { board, result: board.result() };
}
