// Chess attack sets and absolute pins exactly as python-chess defines them (spec boards.md §3.5), on a mailbox
// board indexed by square id = rank·8 + file (a1 = 0, h8 = 63, spec §3.4).

import { parseChessSquare } from "./squares.js";

export const WHITE = 1;
export const BLACK = -1;
export type ChessColor = typeof WHITE | typeof BLACK;

// Piece types as the spec's piece values v (§3.4); a square holds colour·type.
export const PAWN = 1;
export const KNIGHT = 2;
export const BISHOP = 3;
export const ROOK = 4;
export const QUEEN = 5;
export const KING = 6;

// Castling-right bits of ChessPosition.castling.
export const WHITE_KINGSIDE = 1;
export const WHITE_QUEENSIDE = 2;
export const BLACK_KINGSIDE = 4;
export const BLACK_QUEENSIDE = 8;

/** A position as the strategy BSPs read it. */
export interface ChessPosition {
  /** [64] piece value per square id: colour·type (White +, Black −), 0 empty. */
  pieces: Int8Array;
  /** Side to move. */
  turn: ChessColor;
  /** Castling-right bits, cleaned like python-chess: a right needs its king on e1/e8 and rook on its corner. */
  castling: number;
  /** En-passant target square id (the empty square behind a double-pushed pawn), or -1. */
  epSquare: number;
}

const FEN_PIECE_VALUES: Readonly<Record<string, number>> = {
  P: PAWN, N: KNIGHT, B: BISHOP, R: ROOK, Q: QUEEN, K: KING,
  p: -PAWN, n: -KNIGHT, b: -BISHOP, r: -ROOK, q: -QUEEN, k: -KING,
};

/** Parse the first four FEN fields (placement, side to move, castling, en passant). */
export function positionFromFen(fen: string): ChessPosition {
  const fields = fen.trim().split(/\s+/);
  if (fields.length < 4) throw new Error(`positionFromFen: expected at least 4 fields, got "${fen}"`);
  const [placement, side, castlingField, epField] = fields;
  const ranks = placement.split("/");
  if (ranks.length !== 8) throw new Error(`positionFromFen: expected 8 ranks in "${placement}" (fen "${fen}")`);
  const pieces = new Int8Array(64);
  for (let row = 0; row < 8; row++) {
    const rank = 7 - row; // FEN lists rank 8 first
    let file = 0;
    for (const ch of ranks[row]) {
      if (ch >= "1" && ch <= "8") {
        file += Number(ch);
      } else {
        const value = FEN_PIECE_VALUES[ch];
        if (value === undefined || file > 7) throw new Error(`positionFromFen: bad rank "${ranks[row]}" in fen "${fen}"`);
        pieces[rank * 8 + file++] = value;
      }
    }
    if (file !== 8) throw new Error(`positionFromFen: rank "${ranks[row]}" does not have 8 files (fen "${fen}")`);
  }
  if (side !== "w" && side !== "b") throw new Error(`positionFromFen: side to move must be w or b, got "${side}"`);
  let castling = 0;
  if (castlingField !== "-") {
    for (const ch of castlingField) {
      const bit = "KQkq".indexOf(ch);
      if (bit < 0) throw new Error(`positionFromFen: bad castling field "${castlingField}" (fen "${fen}")`);
      castling |= 1 << bit;
    }
  }
  const epSquare = epField === "-" ? -1 : parseChessSquare(epField);
  return { pieces, turn: side === "w" ? WHITE : BLACK, castling: cleanCastlingRights(pieces, castling), epSquare };
}

/** python-chess clean_castling_rights for standard chess: a right survives only with king and rook at home. */
function cleanCastlingRights(pieces: Int8Array, castling: number): number {
  let clean = 0;
  if (pieces[4] === KING) {
    if (castling & WHITE_KINGSIDE && pieces[7] === ROOK) clean |= WHITE_KINGSIDE;
    if (castling & WHITE_QUEENSIDE && pieces[0] === ROOK) clean |= WHITE_QUEENSIDE;
  }
  if (pieces[60] === -KING) {
    if (castling & BLACK_KINGSIDE && pieces[63] === -ROOK) clean |= BLACK_KINGSIDE;
    if (castling & BLACK_QUEENSIDE && pieces[56] === -ROOK) clean |= BLACK_QUEENSIDE;
  }
  return clean;
}

// ---- geometry tables (built once) ----

function stepTargets(square: number, steps: readonly (readonly [number, number])[]): Int8Array {
  const rank = square >> 3;
  const file = square & 7;
  const targets: number[] = [];
  for (const [dr, df] of steps) {
    const r = rank + dr;
    const f = file + df;
    if (r >= 0 && r < 8 && f >= 0 && f < 8) targets.push(r * 8 + f);
  }
  return Int8Array.from(targets);
}

const KNIGHT_STEPS = [[1, 2], [2, 1], [2, -1], [1, -2], [-1, -2], [-2, -1], [-2, 1], [-1, 2]] as const;
const KING_STEPS = [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]] as const;
// Directions 0..3 are orthogonal (rook lines), 4..7 diagonal (bishop lines).
const DIRECTIONS = [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]] as const;

const SQUARES = Array.from({ length: 64 }, (_, square) => square);
export const KNIGHT_TARGETS: readonly Int8Array[] = SQUARES.map((s) => stepTargets(s, KNIGHT_STEPS));
export const KING_TARGETS: readonly Int8Array[] = SQUARES.map((s) => stepTargets(s, KING_STEPS));
/** Squares a white (resp. black) pawn on the square attacks: its two forward diagonals. */
export const WHITE_PAWN_ATTACKS: readonly Int8Array[] = SQUARES.map((s) => stepTargets(s, [[1, -1], [1, 1]]));
export const BLACK_PAWN_ATTACKS: readonly Int8Array[] = SQUARES.map((s) => stepTargets(s, [[-1, -1], [-1, 1]]));
/** RAYS[square·8 + direction]: the squares from the square outwards to the edge, nearest first. */
export const RAYS: readonly Int8Array[] = SQUARES.flatMap((square) =>
  DIRECTIONS.map(([dr, df]) => {
    const ray: number[] = [];
    for (let r = (square >> 3) + dr, f = (square & 7) + df; r >= 0 && r < 8 && f >= 0 && f < 8; r += dr, f += df) {
      ray.push(r * 8 + f);
    }
    return Int8Array.from(ray);
  }),
);

/** Square of the king of `color`, or -1. */
export function findKing(pieces: Int8Array, color: ChessColor): number {
  const king = color * KING;
  for (let square = 0; square < 64; square++) if (pieces[square] === king) return square;
  return -1;
}

/**
 * Write the python-chess attack set of the piece on `square` into out[0..n) and return n (0 for an empty square).
 * Pins are ignored; slider rays include the first occupied square of either colour.
 */
export function attackList(pieces: Int8Array, square: number, out: Int8Array): number {
  const piece = pieces[square];
  const type = piece < 0 ? -piece : piece;
  let table: Int8Array;
  switch (type) {
    case 0:
      return 0;
    case PAWN:
      table = piece > 0 ? WHITE_PAWN_ATTACKS[square] : BLACK_PAWN_ATTACKS[square];
      break;
    case KNIGHT:
      table = KNIGHT_TARGETS[square];
      break;
    case KING:
      table = KING_TARGETS[square];
      break;
    default: {
      const first = type === BISHOP ? 4 : 0;
      const last = type === ROOK ? 4 : 8;
      let n = 0;
      for (let dir = first; dir < last; dir++) {
        const ray = RAYS[square * 8 + dir];
        for (let i = 0; i < ray.length; i++) {
          out[n++] = ray[i];
          if (pieces[ray[i]] !== 0) break;
        }
      }
      return n;
    }
  }
  out.set(table);
  return table.length;
}

/** python-chess is_attacked_by: some piece of `color` has `square` in its attack set. */
export function isAttackedBy(pieces: Int8Array, square: number, color: ChessColor): boolean {
  // A pawn of `color` attacks the square from the squares an opposite-coloured pawn on it would attack.
  const pawnSources = color === WHITE ? BLACK_PAWN_ATTACKS[square] : WHITE_PAWN_ATTACKS[square];
  const pawn = color * PAWN;
  for (let i = 0; i < pawnSources.length; i++) if (pieces[pawnSources[i]] === pawn) return true;
  const knights = KNIGHT_TARGETS[square];
  const knight = color * KNIGHT;
  for (let i = 0; i < knights.length; i++) if (pieces[knights[i]] === knight) return true;
  const kings = KING_TARGETS[square];
  const king = color * KING;
  for (let i = 0; i < kings.length; i++) if (pieces[kings[i]] === king) return true;
  const queen = color * QUEEN;
  for (let dir = 0; dir < 8; dir++) {
    const slider = color * (dir < 4 ? ROOK : BISHOP);
    const ray = RAYS[square * 8 + dir];
    for (let i = 0; i < ray.length; i++) {
      const piece = pieces[ray[i]];
      if (piece !== 0) {
        if (piece === slider || piece === queen) return true;
        break;
      }
    }
  }
  return false;
}

/**
 * Set pinned[s] = 1 for every piece of `color` absolutely pinned to its own king (python-chess is_pinned): the only
 * piece between the king and an enemy rook/queen on a line, or bishop/queen on a diagonal. Returns how many.
 */
export function markAbsolutePins(pieces: Int8Array, color: ChessColor, pinned: Uint8Array): number {
  const king = findKing(pieces, color);
  if (king < 0) return 0;
  const enemyQueen = -color * QUEEN;
  let count = 0;
  for (let dir = 0; dir < 8; dir++) {
    const enemySlider = -color * (dir < 4 ? ROOK : BISHOP);
    const ray = RAYS[king * 8 + dir];
    let blocker = -1;
    for (let i = 0; i < ray.length; i++) {
      const piece = pieces[ray[i]];
      if (piece === 0) continue;
      if (blocker < 0) {
        if (piece * color < 0) break; // an enemy piece first: nothing of ours is pinned on this ray
        blocker = ray[i];
        continue;
      }
      if (piece === enemySlider || piece === enemyQueen) {
        pinned[blocker] = 1;
        count++;
      }
      break;
    }
  }
  return count;
}

/** DIRECTION_TOWARDS[a·64 + b]: the RAYS direction from a towards b when they share a line or diagonal, else -1. */
export const DIRECTION_TOWARDS: Int8Array = (() => {
  const table = new Int8Array(64 * 64).fill(-1);
  for (let square = 0; square < 64; square++) {
    for (let dir = 0; dir < 8; dir++) for (const target of RAYS[square * 8 + dir]) table[square * 64 + target] = dir;
  }
  return table;
})();

/** Whether a piece of `type` and `color` standing on `from` attacks `target` on this board (python-chess attacks). */
export function pieceAttacks(pieces: Int8Array, type: number, color: ChessColor, from: number, target: number): boolean {
  const dr = (target >> 3) - (from >> 3);
  const df = (target & 7) - (from & 7);
  switch (type) {
    case PAWN:
      return dr === color && (df === 1 || df === -1);
    case KNIGHT:
      return dr * dr + df * df === 5;
    case KING:
      return dr * dr + df * df <= 2 && (dr !== 0 || df !== 0);
    default: {
      const dir = DIRECTION_TOWARDS[from * 64 + target];
      if (dir < 0 || (type === ROOK && dir >= 4) || (type === BISHOP && dir < 4)) return false;
      const ray = RAYS[from * 8 + dir];
      for (let i = 0; ray[i] !== target; i++) if (pieces[ray[i]] !== 0) return false;
      return true;
    }
  }
}

/**
 * Whether a slider of `color` attacks `target` along the line from `target` through `through` (the first piece
 * beyond `target` in that direction is a matching rook/bishop or a queen). False when they share no line.
 */
export function sliderAttacksAlong(pieces: Int8Array, target: number, through: number, color: ChessColor): boolean {
  const dir = DIRECTION_TOWARDS[target * 64 + through];
  if (dir < 0) return false;
  const slider = color * (dir < 4 ? ROOK : BISHOP);
  const ray = RAYS[target * 8 + dir];
  for (let i = 0; i < ray.length; i++) {
    const piece = pieces[ray[i]];
    if (piece !== 0) return piece === slider || piece === color * QUEEN;
  }
  return false;
}
