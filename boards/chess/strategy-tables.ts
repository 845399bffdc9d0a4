// The 14 strategy BSPs (strategy.ts) for every character position of a game: each distinct board once, its
// packed values copied to the characters that see it (spec boards.md §3.3).

import { bspWidth, emptyBspTable, type BspTable } from "../bsp.js";
import { chessCharBoards } from "./char-boards.js";
import { CHESS_STRATEGY_FUNCTIONS, packedStrategyValues, STRATEGY_OFFSETS, STRATEGY_VALUES_WIDTH } from "./strategy.js";

/** Strategy BSP tables (one per function, spec order) for the first `positions` characters of a movetext. */
export function chessStrategyBspTables(movetext: string, positions = movetext.length): BspTable[] {
  const perBoard: Uint8Array[] = [];
  const charBoards = chessCharBoards(movetext, {
    positions,
    visit: (chess) => perBoard.push(packedStrategyValues(chess, new Uint8Array(STRATEGY_VALUES_WIDTH))),
  });
  return CHESS_STRATEGY_FUNCTIONS.map((fn) => {
    const table = emptyBspTable(fn, charBoards.positions);
    const width = bspWidth(fn);
    const offset = STRATEGY_OFFSETS[fn.id as keyof typeof STRATEGY_OFFSETS];
    for (let p = 0; p < charBoards.positions; p++) {
      const values = perBoard[charBoards.boardOfChar[p]];
      table.data.set(values.subarray(offset, offset + width), p * width);
    }
    return table;
  });
}
