// Text views of one position of a game, for `saec games show`: the board as a grid and the BSPs that hold there.

import { bspIndex, bspNames, bspWidth, type BspTable } from "./bsp.js";

/** Stable names of the BSPs that are 1 at `position`. */
export function positiveBspNames(table: BspTable, position: number): string[] {
  const width = bspWidth(table.fn);
  return bspNames(table.fn).filter((_, i) => table.data[position * width + i] === 1);
}

export interface GridLayout {
  /** Labels of the table's rows 0..7 and columns 0..7. */
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** Print table row 7 first (chess: rank 8 at the top). */
  topRowLast: boolean;
}

/** An 8×8 grid of a one-hot board table at `position`: each square shows the symbol of its class. */
export function boardGrid(table: BspTable, position: number, symbols: readonly string[], layout: GridLayout): string {
  const { fn } = table;
  if (fn.rows !== 8) throw new RangeError(`boardGrid: ${fn.id} is not an 8×8 board map`);
  const width = bspWidth(fn);
  const rows = layout.topRowLast ? [7, 6, 5, 4, 3, 2, 1, 0] : [0, 1, 2, 3, 4, 5, 6, 7];
  const lines = [`  ${layout.colLabels.join(" ")}`];
  for (const row of rows) {
    const cells: string[] = [];
    for (let col = 0; col < 8; col++) {
      let symbol = fn.maskedClasses.length > 0 ? " " : "?"; // a masked class sets no channel
      for (let cls = 0; cls < fn.classes; cls++) {
        if (table.data[position * width + bspIndex(fn, row, col, cls)] === 1) symbol = symbols[cls];
      }
      cells.push(symbol);
    }
    lines.push(`${layout.rowLabels[row]} ${cells.join(" ")}`);
  }
  return lines.join("\n");
}

/** Symbol of a class in grids: first letter of its name ("mine" → m), "." for empty, " " for a masked class. */
function classSymbol(table: BspTable, cls: number): string {
  if (table.fn.maskedClasses.includes(cls)) return " ";
  const name = table.fn.entryName(0, 0, cls).split(".").at(-2) ?? "?";
  return name === "empty" ? "." : name.replace(/^(white|black)_/, (_, colour: string) => (colour === "white" ? "W" : "b"))[0];
}

/**
 * Every BSP table at `position`: multi-class board maps as grids side by side (class symbols from their names),
 * binary maps as the squares that hold, scalars as 0/1.
 */
export function bspSummary(tables: Iterable<BspTable>, position: number, layout: GridLayout): string {
  const grids: string[][] = [];
  const lines: string[] = [];
  for (const table of tables) {
    const { fn } = table;
    if (fn.rows === 8 && fn.classes > 1) {
      const symbols = Array.from({ length: fn.classes }, (_, cls) => classSymbol(table, cls));
      const grid = boardGrid(table, position, symbols, layout).split("\n");
      grids.push([fn.id.padEnd(grid[0].length), ...grid]);
    } else if (fn.rows === 8) {
      const squares = positiveBspNames(table, position).map((name) => name.split(".").at(-1));
      lines.push(`${fn.id.padEnd(26)} ${squares.length === 0 ? "-" : squares.join(" ")}`);
    } else {
      lines.push(`${fn.id.padEnd(26)} ${table.data[position * bspWidth(fn)]}`);
    }
  }
  const gridLines = grids.length === 0 ? [] : grids[0].map((_, i) => grids.map((grid) => grid[i]).join("   "));
  return [...gridLines, ...lines].join("\n");
}
