// The Othello game state (spec boards.md §1.1–1.2): bitboards per colour, implicit passes, game end.

import { flipsInto, hasSquare, legalMovesInto, popcount, squaresOf } from "./bitboard.js";
import { assertSquare, squareName } from "./squares.js";

/** Black = +1, white = −1 (spec §1.1). */
export type Color = 1 | -1;
export const BLACK: Color = 1;
export const WHITE: Color = -1;

export type OthelloResult = "black" | "white" | "draw" | "unfinished";

export function colorName(color: Color): "black" | "white" {
  return color === BLACK ? "black" : "white";
}

/** A move that is not legal for the side to move (or any move after the game end). */
export class IllegalOthelloMoveError extends Error {
  constructor(
    readonly square: number,
    readonly color: Color,
    reason: string,
  ) {
    super(`${squareName(square)} (square ${square}) is not a legal move for ${colorName(color)}: ${reason}`);
    this.name = "IllegalOthelloMoveError";
  }
}

const scratch = new Int32Array(2);

/** A mutable position whose side to move is always the true mover: passes are resolved inside play(). */
export class OthelloBoard {
  blackLo = 0;
  blackHi = 0;
  whiteLo = 0;
  whiteHi = 0;
  /** The player to move; after the game end, the opponent of the last mover (spec §3.2 convention). */
  sideToMove: Color = BLACK;
  gameOver = false;
  /** Legal moves of sideToMove, empty once the game is over. */
  legalLo = 0;
  legalHi = 0;
  /** Discs flipped by the last move (the placed disc excluded). */
  flippedLo = 0;
  flippedHi = 0;
  /** Whether the last move was followed by a pass (the same colour moves again). */
  lastMoveForcedPass = false;
  moveCount = 0;

  /** Spec §1.1 start: d4, e5 white; d5, e4 black; black to move. */
  static start(): OthelloBoard {
    const board = new OthelloBoard();
    board.whiteLo = (1 << 27) | 0;
    board.blackLo = 1 << 28;
    board.blackHi = 1 << (35 - 32);
    board.whiteHi = 1 << (36 - 32);
    board.refreshLegalMoves();
    return board;
  }

  clone(): OthelloBoard {
    return Object.assign(new OthelloBoard(), this);
  }

  /** +1 black disc, −1 white disc, 0 empty. */
  at(square: number): Color | 0 {
    assertSquare(square);
    if (hasSquare(this.blackLo, this.blackHi, square)) return BLACK;
    if (hasSquare(this.whiteLo, this.whiteHi, square)) return WHITE;
    return 0;
  }

  isLegal(square: number): boolean {
    return Number.isInteger(square) && square >= 0 && square < 64 && hasSquare(this.legalLo, this.legalHi, square);
  }

  /** Legal moves of the side to move in ascending square id (spec §1.5 enumeration order). */
  legalMoves(): number[] {
    return squaresOf(this.legalLo, this.legalHi);
  }

  legalMoveCount(): number {
    return popcount(this.legalLo, this.legalHi);
  }

  discCount(color: Color): number {
    return color === BLACK ? popcount(this.blackLo, this.blackHi) : popcount(this.whiteLo, this.whiteHi);
  }

  /** More discs wins, equal is a draw (spec §1.2); "unfinished" while moves remain. */
  result(): OthelloResult {
    if (!this.gameOver) return "unfinished";
    const difference = this.discCount(BLACK) - this.discCount(WHITE);
    return difference > 0 ? "black" : difference < 0 ? "white" : "draw";
  }

  /** Plays square for the side to move, flips, then passes implicitly or ends the game (spec §1.2). */
  play(square: number): void {
    assertSquare(square, "move square");
    if (this.gameOver) throw new IllegalOthelloMoveError(square, this.sideToMove, "the game is over");
    if (!hasSquare(this.legalLo, this.legalHi, square)) {
      const reason = this.at(square) !== 0 ? "the square is occupied" : "it brackets no opponent disc";
      throw new IllegalOthelloMoveError(square, this.sideToMove, reason);
    }
    const black = this.sideToMove === BLACK;
    const pl = black ? this.blackLo : this.whiteLo;
    const ph = black ? this.blackHi : this.whiteHi;
    const ol = black ? this.whiteLo : this.blackLo;
    const oh = black ? this.whiteHi : this.blackHi;
    flipsInto(pl, ph, ol, oh, square, scratch);
    const flipLo = scratch[0];
    const flipHi = scratch[1];
    const placeLo = square < 32 ? 1 << square : 0;
    const placeHi = square < 32 ? 0 : 1 << (square - 32);
    const newPl = pl | flipLo | placeLo;
    const newPh = ph | flipHi | placeHi;
    const newOl = ol & ~flipLo;
    const newOh = oh & ~flipHi;
    if (black) {
      this.blackLo = newPl;
      this.blackHi = newPh;
      this.whiteLo = newOl;
      this.whiteHi = newOh;
    } else {
      this.whiteLo = newPl;
      this.whiteHi = newPh;
      this.blackLo = newOl;
      this.blackHi = newOh;
    }
    this.flippedLo = flipLo;
    this.flippedHi = flipHi;
    this.moveCount++;
    const mover = this.sideToMove;
    this.sideToMove = -mover as Color;
    this.lastMoveForcedPass = false;
    if (this.refreshLegalMoves()) return;
    this.sideToMove = mover; // the opponent passes
    if (this.refreshLegalMoves()) {
      this.lastMoveForcedPass = true;
      return;
    }
    this.sideToMove = -mover as Color; // neither side can move
    this.gameOver = true;
  }

  /** Recomputes legalLo/legalHi for sideToMove; returns whether it has a move. */
  private refreshLegalMoves(): boolean {
    if (this.sideToMove === BLACK) legalMovesInto(this.blackLo, this.blackHi, this.whiteLo, this.whiteHi, scratch);
    else legalMovesInto(this.whiteLo, this.whiteHi, this.blackLo, this.blackHi, scratch);
    this.legalLo = scratch[0];
    this.legalHi = scratch[1];
    return (this.legalLo | this.legalHi) !== 0;
  }
}
