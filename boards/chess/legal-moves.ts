// A legal-move generator on the mailbox ChessPosition (python-chess `legal_moves` semantics, promotions expanded):
// the strategy BSPs read every legal move of every position, and chess.js move lists cost milliseconds.

import {
  BISHOP,
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
  QUEEN,
  RAYS,
  ROOK,
  sliderAttacksAlong,
  WHITE,
  WHITE_KINGSIDE,
  WHITE_PAWN_ATTACKS,
  WHITE_QUEENSIDE,
} from "./attacks.js";

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
