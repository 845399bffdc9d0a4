// Othello board-state properties (spec boards.md §3.1, §3.2): mine, mine_masked, legal, flipped, color, all filled
// from one replay per game by writing the set bits of the engine's bitboards (no per-square objects).

import { bspWidth, emptyBspTable, type BspFunction, type BspTable } from "../bsp.js";
import { BLACK, WHITE, type Color, type OthelloBoard } from "./engine.js";
import { replayOthello } from "./replay.js";
import { squareName } from "./squares.js";

/**
 * Who "mine" is at position i (spec §3.2): the true next mover N_i, or the reference's move-parity guess. Only
 * mine/mine_masked depend on it; legal is N_i's moves in both (the reference's legal map is pass-aware too).
 */
export type OthelloPerspective = "true-mover" | "parity";
export const OTHELLO_PERSPECTIVES: readonly OthelloPerspective[] = ["true-mover", "parity"];

const SQUARE_NAMES: readonly string[] = Array.from({ length: 64 }, (_, square) => squareName(square));

function boardMap(id: string, classNames: readonly string[], maskedClasses: readonly number[]): BspFunction {
  return {
    id,
    game: "othello",
    rows: 8,
    classes: classNames.length,
    maskedClasses,
    entryName: (row, col, cls) => `othello.${classNames[cls]}.${SQUARE_NAMES[row * 8 + col]}`,
  };
}

/** Class 0 = disc of N_i, 1 = empty, 2 = disc of the other colour; 188 of 192 entries can be positive. */
export const othelloMine = boardMap("mine", ["mine", "empty", "theirs"], []);
/** The paper metric: `mine` with the empty class masked; 128 of 192 entries can be positive. */
export const othelloMineMasked = boardMap("mine_masked", ["mine", "empty", "theirs"], [1]);
/** Legal moves of N_i (all zero after the game end); 60 of 64 can be positive. */
export const othelloLegal = boardMap("legal", ["legal"], []);
/** Discs flipped by move i, the placed square excluded; 60 of 64 can be positive (corners never flip). */
export const othelloFlipped = boardMap("flipped", ["flipped"], []);
/** Absolute colours: 0 = white, 1 = empty (the same BSP as mine's empty), 2 = black; 188 of 192 can be positive. */
export const othelloColor = boardMap("color", ["white", "empty", "black"], []);

/** Every Othello BSP function, in spec §3.2 table order. */
export const OTHELLO_BSP_FUNCTIONS: readonly BspFunction[] = [
  othelloMine,
  othelloMineMasked,
  othelloLegal,
  othelloFlipped,
  othelloColor,
];
export const OTHELLO_BSP_IDS: readonly string[] = OTHELLO_BSP_FUNCTIONS.map((fn) => fn.id);

export function othelloBspFunction(id: string): BspFunction {
  const fn = OTHELLO_BSP_FUNCTIONS.find((candidate) => candidate.id === id);
  if (!fn) throw new RangeError(`Othello BSP function must be one of ${OTHELLO_BSP_IDS.join(", ")}, got "${id}"`);
  return fn;
}

export interface OthelloBspOptions {
  /** Default "true-mover" (spec §3.2); "parity" reproduces the reference's published numbers. */
  perspective?: OthelloPerspective;
  /** Names the game in transcript errors. */
  gameId?: string;
}

/**
 * All requested BSP tables of one game from a single replay: positions = moves.length, position i = the state
 * after move i. Throws OthelloTranscriptError for an illegal transcript.
 */
export function othelloBsps(
  moves: ArrayLike<number>,
  options: OthelloBspOptions = {},
  functions: readonly string[] = OTHELLO_BSP_IDS,
): Map<string, BspTable> {
  const tables = new Map<string, BspTable>();
  for (const id of functions) {
    if (tables.has(id)) throw new RangeError(`Othello BSP functions: "${id}" is requested twice`);
    tables.set(id, emptyBspTable(othelloBspFunction(id), moves.length));
  }
  othelloBspsInto(moves, [...tables.values()], 0, options);
  return tables;
}

/**
 * Writes one game's BSPs into rows firstPosition..firstPosition+moves.length−1 of existing tables (one buffer per
 * function for a whole batch of games); those rows are cleared first, other rows are left as they are.
 */
export function othelloBspsInto(
  moves: ArrayLike<number>,
  tables: readonly BspTable[],
  firstPosition: number,
  options: OthelloBspOptions = {},
): void {
  const perspective = options.perspective ?? "true-mover";
  if (!OTHELLO_PERSPECTIVES.includes(perspective)) {
    throw new RangeError(`Othello BSP perspective must be one of ${OTHELLO_PERSPECTIVES.join(", ")}, got "${perspective}"`);
  }
  if (!Number.isInteger(firstPosition) || firstPosition < 0) {
    throw new RangeError(`Othello BSP firstPosition must be a non-negative integer, got ${firstPosition}`);
  }
  let mine: Uint8Array | undefined;
  let mineMasked: Uint8Array | undefined;
  let legal: Uint8Array | undefined;
  let flipped: Uint8Array | undefined;
  let color: Uint8Array | undefined;
  for (const table of tables) {
    const fn = table.fn;
    if (!OTHELLO_BSP_FUNCTIONS.includes(fn)) {
      throw new RangeError(`BSP table "${fn.game}.${fn.id}" is not one of the Othello BSP functions of boards/othello/bsp.ts`);
    }
    if (tables.some((other) => other !== table && other.fn === fn)) {
      throw new RangeError(`Othello BSP tables: "${fn.id}" is given twice`);
    }
    const width = bspWidth(fn);
    if (table.positions < firstPosition + moves.length || table.data.length !== table.positions * width) {
      throw new RangeError(
        `Othello BSP table "${fn.id}" has ${table.positions} positions (${table.data.length} bytes); ` +
          `positions ${firstPosition}..${firstPosition + moves.length - 1} need ${firstPosition + moves.length}`,
      );
    }
    table.data.fill(0, firstPosition * width, (firstPosition + moves.length) * width);
    if (fn === othelloMine) mine = table.data;
    else if (fn === othelloMineMasked) mineMasked = table.data;
    else if (fn === othelloLegal) legal = table.data;
    else if (fn === othelloFlipped) flipped = table.data;
    else color = table.data;
  }
  const trueMover = perspective === "true-mover";
  const mineWords = mine && wordView(mine);
  const mineMaskedWords = mineMasked && wordView(mineMasked);
  const colorWords = color && wordView(color);
  replayOthello(moves, options.gameId ?? "(unnamed)", (board: OthelloBoard, moveIndex: number) => {
    const position = firstPosition + moveIndex;
    const { blackLo, blackHi, whiteLo, whiteHi } = board;
    const emptyLo = ~(blackLo | whiteLo);
    const emptyHi = ~(blackHi | whiteHi);
    // spec §3.2: the engine's sideToMove is N_i (game over: opponent of the last mover); parity: white after even i
    const next: Color = trueMover ? board.sideToMove : moveIndex % 2 === 0 ? WHITE : BLACK;
    const mineLo = next === BLACK ? blackLo : whiteLo;
    const mineHi = next === BLACK ? blackHi : whiteHi;
    const theirsLo = next === BLACK ? whiteLo : blackLo;
    const theirsHi = next === BLACK ? whiteHi : blackHi;
    if (mine) writeThreeClasses(mine, mineWords, position, mineLo, mineHi, emptyLo, emptyHi, theirsLo, theirsHi);
    if (mineMasked) writeThreeClasses(mineMasked, mineMaskedWords, position, mineLo, mineHi, 0, 0, theirsLo, theirsHi);
    if (legal) setBits(legal, position * 64, board.legalLo, board.legalHi, 1, 0);
    if (flipped) setBits(flipped, position * 64, board.flippedLo, board.flippedHi, 1, 0);
    if (color) writeThreeClasses(color, colorWords, position, whiteLo, whiteHi, emptyLo, emptyHi, blackLo, blackHi);
  });
}

/**
 * ROW_PATTERNS[(cls·256 + rowBits)·6 + w] = word w of the 24 bytes (8 squares × 3 classes) that one board row
 * writes when the squares in rowBits hold class cls; a row's bytes are the OR over its three classes.
 * Native-endian like the Uint32Array views it is written through.
 */
const ROW_PATTERNS = buildRowPatterns();

function buildRowPatterns(): Uint32Array {
  const bytes = new Uint8Array(3 * 256 * 24);
  for (let cls = 0; cls < 3; cls++) {
    for (let rowBits = 0; rowBits < 256; rowBits++) {
      for (let col = 0; col < 8; col++) if ((rowBits >> col) & 1) bytes[(cls * 256 + rowBits) * 24 + col * 3 + cls] = 1;
    }
  }
  return new Uint32Array(bytes.buffer);
}

/** A 32-bit view of a 3-class table: 6 word stores per board row (measured 4× faster than setting bits one by one). */
function wordView(data: Uint8Array): Uint32Array | undefined {
  if (data.byteOffset % 4 !== 0) return undefined; // an unaligned caller buffer takes the byte path
  return new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
}

/**
 * Writes one position (192 bytes) of a 3-class board map from the three class sets: through the word view when
 * the buffer is 4-byte aligned, else square by square (the rows were cleared beforehand).
 */
function writeThreeClasses(
  data: Uint8Array,
  words: Uint32Array | undefined,
  position: number,
  c0Lo: number,
  c0Hi: number,
  c1Lo: number,
  c1Hi: number,
  c2Lo: number,
  c2Hi: number,
): void {
  if (words) {
    writeHalfBoard(words, position * 48, c0Lo, c1Lo, c2Lo);
    writeHalfBoard(words, position * 48 + 24, c0Hi, c1Hi, c2Hi);
    return;
  }
  const base = position * 192;
  setBits(data, base, c0Lo, c0Hi, 3, 0);
  setBits(data, base, c1Lo, c1Hi, 3, 1);
  setBits(data, base, c2Lo, c2Hi, 3, 2);
}

/** Rows 0..3 (or 4..7) from one 32-bit half of each class set; unrolled, as a word loop measured 2× slower. */
function writeHalfBoard(words: Uint32Array, out: number, c0: number, c1: number, c2: number): void {
  for (let shift = 0; shift < 32; shift += 8) {
    const p0 = ((c0 >>> shift) & 255) * 6;
    const p1 = (256 + ((c1 >>> shift) & 255)) * 6;
    const p2 = (512 + ((c2 >>> shift) & 255)) * 6;
    words[out] = ROW_PATTERNS[p0] | ROW_PATTERNS[p1] | ROW_PATTERNS[p2];
    words[out + 1] = ROW_PATTERNS[p0 + 1] | ROW_PATTERNS[p1 + 1] | ROW_PATTERNS[p2 + 1];
    words[out + 2] = ROW_PATTERNS[p0 + 2] | ROW_PATTERNS[p1 + 2] | ROW_PATTERNS[p2 + 2];
    words[out + 3] = ROW_PATTERNS[p0 + 3] | ROW_PATTERNS[p1 + 3] | ROW_PATTERNS[p2 + 3];
    words[out + 4] = ROW_PATTERNS[p0 + 4] | ROW_PATTERNS[p1 + 4] | ROW_PATTERNS[p2 + 4];
    words[out + 5] = ROW_PATTERNS[p0 + 5] | ROW_PATTERNS[p1 + 5] | ROW_PATTERNS[p2 + 5];
    out += 6;
  }
}

/** Sets entry (square, cls) to 1 for every square of the set (lo, hi); `stride` = classes per square. */
function setBits(data: Uint8Array, base: number, lo: number, hi: number, stride: number, cls: number): void {
  for (let bits = lo; bits !== 0; bits &= bits - 1) data[base + (31 - Math.clz32(bits & -bits)) * stride + cls] = 1;
  for (let bits = hi; bits !== 0; bits &= bits - 1) data[base + (63 - Math.clz32(bits & -bits)) * stride + cls] = 1;
}
