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
  BLACK_PAWN_ATTACKS,
  type ChessColor,
  type ChessPosition,
  findKing,
  isAttackedBy,
  KING,
  KING_TARGETS,
  KNIGHT,
  KNIGHT_TARGETS,
  markAbsolutePins,
  PAWN,
  pieceAttacks,
  positionFromFen,
  QUEEN,
  RAYS,
  ROOK,
  sliderAttacksAlong,
  WHITE,
  WHITE_KINGSIDE,
  WHITE_PAWN_ATTACKS,
  WHITE_QUEENSIDE,
} from "./attacks.js";
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

// ---- legal moves ----

const MAX_MOVES = 256; // a legal position has at most 218 moves
const PROMOTIONS = [QUEEN, ROOK, BISHOP, KNIGHT] as const;

/** Reusable buffers for the legal moves of one position (from, to, moving piece type, …). */
export class LegalMoveList {
  count = 0;
  readonly from = new Int8Array(MAX_MOVES);
  readonly to = new Int8Array(MAX_MOVES);
  /** Type (1..6) of the moving piece; a promoting pawn is a pawn. */
  readonly piece = new Int8Array(MAX_MOVES);
  /** Promotion type, 0 for none: each of the four choices is its own move. */
  readonly promotion = new Int8Array(MAX_MOVES);
  /** The move leaves O in check (mates included). */
  readonly givesCheck = new Uint8Array(MAX_MOVES);
  readonly enPassant = new Uint8Array(MAX_MOVES);

  push(from: number, to: number, piece: number, promotion: number, givesCheck: boolean, enPassant: boolean): void {
    const i = this.count++;
    this.from[i] = from;
    this.to[i] = to;
    this.piece[i] = piece;
    this.promotion[i] = promotion;
    this.givesCheck[i] = givesCheck ? 1 : 0;
    this.enPassant[i] = enPassant ? 1 : 0;
  }
}

/** What every candidate move of one position shares. */
interface MoveContext {
  position: ChessPosition;
  moves: LegalMoveList;
  ourKing: number;
  theirKing: number;
  /** [64] S's absolutely pinned pieces. */
  pinned: Uint8Array;
  inCheck: boolean;
  /** O is not in check now, so a move checks only with the moved piece or by uncovering a slider through `from`. */
  quietOpponent: boolean;
}

/** After the move is made on the board: does O's king stand attacked? */
function leavesOpponentInCheck(context: MoveContext, from: number, to: number, type: number): boolean {
  const { position, theirKing } = context;
  if (theirKing < 0) return false;
  const us = position.turn;
  if (!context.quietOpponent) return isAttackedBy(position.pieces, theirKing, us);
  return pieceAttacks(position.pieces, type, us, to, theirKing) || sliderAttacksAlong(position.pieces, theirKing, from, us);
}

/**
 * Make from→to, keep it if S's king is then safe, unmake. The safety test is skipped where it cannot fail: a
 * non-king move of an unpinned piece while not in check only vacates `from`, which matters only for pinned pieces.
 */
function pushIfLegal(context: MoveContext, from: number, to: number): void {
  const { position, moves } = context;
  const pieces = position.pieces;
  const us = position.turn;
  const moving = pieces[from];
  const type = moving * us;
  const captured = pieces[to];
  pieces[to] = moving;
  pieces[from] = 0;
  const safe =
    (!context.inCheck && type !== KING && !context.pinned[from]) ||
    !isAttackedBy(pieces, type === KING ? to : context.ourKing, -us as ChessColor);
  if (safe) {
    const rank = to >> 3;
    if (type === PAWN && (rank === 7 || rank === 0)) {
      for (const promotion of PROMOTIONS) {
        pieces[to] = us * promotion;
        moves.push(from, to, PAWN, promotion, leavesOpponentInCheck(context, from, to, promotion), false);
      }
    } else {
      moves.push(from, to, type, 0, leavesOpponentInCheck(context, from, to, type), false);
    }
  }
  pieces[from] = moving;
  pieces[to] = captured;
}

/** En passant vacates two squares, so both tests use full attack scans. */
function pushEnPassantIfLegal(context: MoveContext, from: number, to: number): void {
  const { position, moves, theirKing } = context;
  const pieces = position.pieces;
  const us = position.turn;
  const capturedSquare = to - 8 * us;
  if (pieces[to] !== 0 || pieces[capturedSquare] !== -us * PAWN) return;
  pieces[to] = us * PAWN;
  pieces[from] = 0;
  pieces[capturedSquare] = 0;
  if (!isAttackedBy(pieces, context.ourKing, -us as ChessColor)) {
    moves.push(from, to, PAWN, 0, theirKing >= 0 && isAttackedBy(pieces, theirKing, us), true);
  }
  pieces[capturedSquare] = -us * PAWN;
  pieces[from] = us * PAWN;
  pieces[to] = 0;
}

// Castling per side: [right bit, king step, rook's corner offset from the king, squares between (offsets)].
const CASTLING_SIDES = [
  [WHITE_KINGSIDE, BLACK_KINGSIDE, 1, 3, [1, 2]],
  [WHITE_QUEENSIDE, BLACK_QUEENSIDE, -1, -4, [-1, -2, -3]],
] as const;

/** Castling by rights + empty squares between + king not in check and not passing or landing on attacked squares. */
function pushCastlingMoves(context: MoveContext): void {
  const { position, moves, theirKing } = context;
  const { pieces, turn: us, castling } = position;
  const them = -us as ChessColor;
  const home = us === WHITE ? 4 : 60;
  if (context.inCheck || pieces[home] !== us * KING) return;
  for (const [whiteRight, blackRight, step, rookOffset, between] of CASTLING_SIDES) {
    const rookFrom = home + rookOffset;
    if (!(castling & (us === WHITE ? whiteRight : blackRight)) || pieces[rookFrom] !== us * ROOK) continue;
    if (between.some((offset) => pieces[home + offset] !== 0)) continue;
    const kingTo = home + 2 * step;
    const rookTo = home + step;
    if (isAttackedBy(pieces, rookTo, them) || isAttackedBy(pieces, kingTo, them)) continue;
    pieces[home] = 0;
    pieces[rookFrom] = 0;
    pieces[kingTo] = us * KING;
    pieces[rookTo] = us * ROOK;
    moves.push(home, kingTo, KING, 0, theirKing >= 0 && isAttackedBy(pieces, theirKing, us), false);
    pieces[kingTo] = 0;
    pieces[rookTo] = 0;
    pieces[home] = us * KING;
    pieces[rookFrom] = us * ROOK;
  }
}

const generatorPinned = new Uint8Array(64);

/** Fill `moves` with every legal move of the side to move (python-chess legal_moves, promotions expanded). */
export function generateLegalMoves(position: ChessPosition, moves: LegalMoveList): number {
  const { pieces, turn: us, epSquare } = position;
  const them = -us as ChessColor;
  const ourKing = findKing(pieces, us);
  if (ourKing < 0) throw new Error(`generateLegalMoves: the side to move (${us === WHITE ? "white" : "black"}) has no king`);
  const theirKing = findKing(pieces, them);
  generatorPinned.fill(0);
  markAbsolutePins(pieces, us, generatorPinned);
  const context: MoveContext = {
    position,
    moves,
    ourKing,
    theirKing,
    pinned: generatorPinned,
    inCheck: isAttackedBy(pieces, ourKing, them),
    quietOpponent: theirKing >= 0 && !isAttackedBy(pieces, theirKing, us),
  };
  moves.count = 0;
  for (let from = 0; from < 64; from++) {
    const type = pieces[from] * us;
    if (type <= 0) continue;
    if (type === PAWN) {
      const forward = from + 8 * us;
      if (forward >= 0 && forward < 64 && pieces[forward] === 0) {
        pushIfLegal(context, from, forward);
        const startRank = us === WHITE ? 1 : 6;
        if (from >> 3 === startRank && pieces[forward + 8 * us] === 0) pushIfLegal(context, from, forward + 8 * us);
      }
      const attacks = us === WHITE ? WHITE_PAWN_ATTACKS[from] : BLACK_PAWN_ATTACKS[from];
      for (let i = 0; i < attacks.length; i++) {
        const to = attacks[i];
        if (pieces[to] * us < 0) pushIfLegal(context, from, to);
        else if (to === epSquare) pushEnPassantIfLegal(context, from, to);
      }
    } else if (type === KNIGHT || type === KING) {
      const targets = type === KNIGHT ? KNIGHT_TARGETS[from] : KING_TARGETS[from];
      for (let i = 0; i < targets.length; i++) if (pieces[targets[i]] * us <= 0) pushIfLegal(context, from, targets[i]);
    } else {
      const first = type === BISHOP ? 4 : 0;
      const last = type === ROOK ? 4 : 8;
      for (let dir = first; dir < last; dir++) {
        const ray = RAYS[from * 8 + dir];
        for (let i = 0; i < ray.length; i++) {
          const occupant = pieces[ray[i]] * us;
          if (occupant > 0) break;
          pushIfLegal(context, from, ray[i]);
          if (occupant < 0) break;
        }
      }
    }
  }
  pushCastlingMoves(context);
  return moves.count;
}

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
