// The paper's 14 chess strategy BSPs (spec boards.md §3.5; reference SAE_BoardGameEval `chess_utils.py`), all
// relative to S = side to move and O = opponent, computed together from one legal-move pass per position.

import type { Chess } from "chess.js";
import type { BspFunction } from "../bsp.js";
import {
  attackList,
  BISHOP,
  BLACK,
  BLACK_KINGSIDE,
  BLACK_QUEENSIDE,
  type ChessColor,
  type ChessPosition,
  findKing,
  KING,
  KNIGHT,
  markAbsolutePins,
  PAWN,
  positionFromFen,
  QUEEN,
  ROOK,
  WHITE,
  WHITE_KINGSIDE,
  WHITE_QUEENSIDE,
} from "./attacks.js";
import { generateLegalMoves, LegalMoveList } from "./legal-moves.js";
import { CHESS_SQUARE_NAMES } from "./squares.js";

/** Function ids in the spec's table order. */
export const STRATEGY_IDS = [
  "threat",
  "legal_moves",
  "check",
  "can_check_next",
  "has_queen",
  "can_capture_queen",
  "has_bishop_pair",
  "castling_rights",
  "kingside_castling_rights",
  "queenside_castling_rights",
  "any_fork",
  "pin",
  "legal_en_passant",
  "ambiguous_moves",
] as const;
export type StrategyId = (typeof STRATEGY_IDS)[number];

function boardMapFunction(id: StrategyId): BspFunction {
  // spec §3.4 layout: row = rank, col = file, so entry (row, col) is square id row·8 + col.
  return { id, game: "chess", rows: 8, classes: 1, maskedClasses: [], entryName: (row, col) => `chess.${id}.${CHESS_SQUARE_NAMES[row * 8 + col]}` };
}

function scalarFunction(id: StrategyId): BspFunction {
  return { id, game: "chess", rows: 1, classes: 1, maskedClasses: [], entryName: () => `chess.strategy.${id}` };
}

/** The 14 strategy BSP functions in spec order: threat and legal_moves are 8×8×1, the rest 1×1×1. */
export const CHESS_STRATEGY_FUNCTIONS: readonly BspFunction[] = STRATEGY_IDS.map((id) =>
  id === "threat" || id === "legal_moves" ? boardMapFunction(id) : scalarFunction(id),
);

export const CHESS_STRATEGY_BY_ID: ReadonlyMap<string, BspFunction> = new Map(CHESS_STRATEGY_FUNCTIONS.map((fn) => [fn.id, fn]));

export function chessStrategyFunction(id: string): BspFunction {
  const fn = CHESS_STRATEGY_BY_ID.get(id);
  if (!fn) throw new RangeError(`chessStrategyFunction: unknown id "${id}" (known: ${STRATEGY_IDS.join(", ")})`);
  return fn;
}

/** Offset of each function's entries in a packed values row (all 14 functions concatenated in spec order). */
export const STRATEGY_OFFSETS: Readonly<Record<StrategyId, number>> = (() => {
  const offsets = {} as Record<StrategyId, number>;
  let offset = 0;
  for (const id of STRATEGY_IDS) {
    offsets[id] = offset;
    offset += id === "threat" || id === "legal_moves" ? 64 : 1;
  }
  return offsets;
})();
/** Entries in a packed values row: 64 + 64 + 12. */
export const STRATEGY_VALUES_WIDTH = 140;

/** One position's values per function id, each of the function's width (64 or 1), in BspTable entry order. */
export type StrategyValues = Record<StrategyId, Uint8Array>;

// ---- the 14 functions ----

// any_fork attacker → target pairs (spec §3.5 #11); queens and kings never count as attackers.
const FORK_TARGETS: Readonly<Record<number, readonly number[]>> = {
  [PAWN]: [KNIGHT, BISHOP, ROOK, QUEEN, KING],
  [KNIGHT]: [ROOK, QUEEN, KING],
  [BISHOP]: [ROOK, QUEEN, KING],
  [ROOK]: [QUEEN, KING],
};

// Module scratch (one position at a time; JavaScript runs this synchronously).
const scratchMoves = new LegalMoveList();
const scratchAttacks = new Int8Array(32);
const scratchPinned = new Uint8Array(64);
const forkCounts = new Int32Array(7 * 7); // [attacker type·7 + target type]
const firstFromSquare = new Int8Array(7 * 64); // [piece type·64 + destination] → first origin, -1 none

/**
 * All 14 functions for one position, packed in spec order at STRATEGY_OFFSETS (STRATEGY_VALUES_WIDTH entries).
 * `position.pieces` is modified during move generation and restored before returning.
 */
export function strategyValuesOfPosition(position: ChessPosition, out = new Uint8Array(STRATEGY_VALUES_WIDTH)): Uint8Array {
  if (out.length < STRATEGY_VALUES_WIDTH) throw new RangeError(`strategyValuesOfPosition: out needs ${STRATEGY_VALUES_WIDTH} entries, got ${out.length}`);
  out.fill(0, 0, STRATEGY_VALUES_WIDTH);
  const { pieces, turn: us, castling } = position;
  const them = -us as ChessColor;
  const o = STRATEGY_OFFSETS;

  // threat: union of O's attack sets; queen / bishop counts of S; the O queen on the highest square (†).
  let ourQueens = 0;
  let ourBishops = 0;
  let theirQueen = -1;
  for (let square = 0; square < 64; square++) {
    const piece = pieces[square];
    if (piece * us > 0) {
      if (piece === us * QUEEN) ourQueens++;
      else if (piece === us * BISHOP) ourBishops++;
    } else if (piece !== 0) {
      if (piece === them * QUEEN) theirQueen = square; // ascending scan: the last one is the highest
      const n = attackList(pieces, square, scratchAttacks);
      for (let i = 0; i < n; i++) out[o.threat + scratchAttacks[i]] = 1;
    }
  }
  const ourKing = findKing(pieces, us);
  out[o.check] = ourKing >= 0 && out[o.threat + ourKing] ? 1 : 0;
  out[o.has_queen] = ourQueens >= 1 ? 1 : 0;
  out[o.has_bishop_pair] = ourBishops >= 2 ? 1 : 0;

  const kingside = castling & (us === WHITE ? WHITE_KINGSIDE : BLACK_KINGSIDE);
  const queenside = castling & (us === WHITE ? WHITE_QUEENSIDE : BLACK_QUEENSIDE);
  out[o.kingside_castling_rights] = kingside ? 1 : 0;
  out[o.queenside_castling_rights] = queenside ? 1 : 0;
  out[o.castling_rights] = kingside || queenside ? 1 : 0;

  // pin: absolute pins of either colour.
  scratchPinned.fill(0);
  const pins = markAbsolutePins(pieces, WHITE, scratchPinned) + markAbsolutePins(pieces, BLACK, scratchPinned);
  out[o.pin] = pins > 0 ? 1 : 0;

  // any_fork (†): per (attacker type, target type), pooled over S's unpinned attackers of that type.
  forkCounts.fill(0);
  for (let square = 0; square < 64; square++) {
    const attacker = pieces[square] * us;
    if (attacker < PAWN || attacker > ROOK || scratchPinned[square]) continue;
    const n = attackList(pieces, square, scratchAttacks);
    for (let i = 0; i < n; i++) {
      const target = -pieces[scratchAttacks[i]] * us;
      if (target > 0) forkCounts[attacker * 7 + target]++;
    }
  }
  fork: for (const attacker of [PAWN, KNIGHT, BISHOP, ROOK]) {
    for (const target of FORK_TARGETS[attacker]) {
      if (forkCounts[attacker * 7 + target] >= 2) {
        out[o.any_fork] = 1;
        break fork;
      }
    }
  }

  // Everything read from S's legal moves, in one pass.
  const moves = scratchMoves;
  const count = generateLegalMoves(position, moves);
  firstFromSquare.fill(-1);
  for (let i = 0; i < count; i++) {
    const to = moves.to[i];
    out[o.legal_moves + to] = 1;
    if (moves.givesCheck[i]) out[o.can_check_next] = 1;
    if (to === theirQueen) out[o.can_capture_queen] = 1;
    if (moves.enPassant[i]) out[o.legal_en_passant] = 1;
    const key = moves.piece[i] * 64 + to;
    const first = firstFromSquare[key];
    if (first < 0) firstFromSquare[key] = moves.from[i];
    else if (first !== moves.from[i]) out[o.ambiguous_moves] = 1;
  }
  return out;
}

/** Views of a packed values row per function id. */
export function unpackStrategyValues(packed: Uint8Array): StrategyValues {
  const values = {} as StrategyValues;
  for (const fn of CHESS_STRATEGY_FUNCTIONS) {
    const offset = STRATEGY_OFFSETS[fn.id as StrategyId];
    values[fn.id as StrategyId] = packed.subarray(offset, offset + fn.rows * fn.rows * fn.classes);
  }
  return values;
}

/** The ChessPosition of a chess.js game state (the en-passant square kept even when no capture is legal). */
export function chessPosition(position: Chess): ChessPosition {
  return positionFromFen(position.fen({ forceEnpassantSquare: true }));
}

/** All 14 strategy BSPs of the position a chess.js instance holds, keyed by function id. */
export function strategyValues(position: Chess): StrategyValues {
  return unpackStrategyValues(strategyValuesOfPosition(chessPosition(position)));
}

/** The same values packed at STRATEGY_OFFSETS into `out` (no per-call views: the per-position hot path). */
export function packedStrategyValues(position: Chess, out = new Uint8Array(STRATEGY_VALUES_WIDTH)): Uint8Array {
  return strategyValuesOfPosition(chessPosition(position), out);
}
