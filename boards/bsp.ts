// Board-state properties (spec boards.md §3.1): a BSP function maps the board at every token position to an
// R×R×C 0/1 tensor; each (row, col, class) entry is one BSP with a stable name.

import type { GameKind } from "./game-dataset.js";

export interface BspFunction {
  /** Function id as the spec names it, e.g. "mine_masked", "piece", "threat", "pin". */
  id: string;
  game: GameKind;
  /** 8 for board maps, 1 for scalars. */
  rows: 1 | 8;
  /** One-hot classes (C); binary functions have 1. */
  classes: number;
  /** Classes forced to 0 everywhere (still part of the tensor). */
  maskedClasses: readonly number[];
  /** Stable name of entry (row, col, class), e.g. "othello.mine.c3" (spec §3.1 table). */
  entryName(row: number, col: number, cls: number): string;
}

/** BSP values of one game: positions × (rows·rows·classes), row-major (row, col, class). */
export interface BspTable {
  fn: BspFunction;
  positions: number;
  data: Uint8Array;
}

/** Entries per position of a BSP function. */
export function bspWidth(fn: BspFunction): number {
  return fn.rows * fn.rows * fn.classes;
}

/** Index of entry (row, col, class) within one position's row of a BspTable. */
export function bspIndex(fn: BspFunction, row: number, col: number, cls: number): number {
  return (row * fn.rows + col) * fn.classes + cls;
}

/** Every entry's stable name, in table order. */
export function bspNames(fn: BspFunction): string[] {
  const names: string[] = [];
  for (let row = 0; row < fn.rows; row++) {
    for (let col = 0; col < fn.rows; col++) {
      for (let cls = 0; cls < fn.classes; cls++) names.push(fn.entryName(row, col, cls));
    }
  }
  return names;
}

/** An all-zero table for `positions` positions. */
export function emptyBspTable(fn: BspFunction, positions: number): BspTable {
  return { fn, positions, data: new Uint8Array(positions * bspWidth(fn)) };
}
