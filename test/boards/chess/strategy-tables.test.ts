import { describe, expect, it } from "vitest";
import { chessStrategyBspTables } from "../../../boards/chess/strategy-tables.js";
import { positiveBspNames } from "../../../boards/position-text.js";

describe("chess strategy BSP tables per character", () => {
  const movetext = ";1.e4 d5 2.exd5";
  const tables = new Map(chessStrategyBspTables(movetext).map((table) => [table.fn.id, table]));

  it("has one row per character and the 14 functions in spec order", () => {
    expect([...tables.keys()]).toHaveLength(14);
    expect([...tables.keys()].slice(0, 3)).toEqual(["threat", "legal_moves", "check"]);
    for (const table of tables.values()) expect(table.positions).toBe(movetext.length);
  });

  it("at the first dot (initial position) White's 20 moves reach the 16 squares of ranks 3 and 4", () => {
    const squares = positiveBspNames(tables.get("legal_moves")!, 2).map((name) => name.split(".").at(-1)).sort();
    expect(squares).toEqual("a3 a4 b3 b4 c3 c4 d3 d4 e3 e4 f3 f4 g3 g4 h3 h4".split(" "));
    expect(tables.get("has_queen")!.data[2]).toBe(1);
    expect(tables.get("castling_rights")!.data[2]).toBe(1);
  });

  it("at the dot of `2.` (after 1...d5) White can capture on d5 and is not in check", () => {
    const dot = movetext.indexOf("2.") + 1;
    const squares = positiveBspNames(tables.get("legal_moves")!, dot).map((name) => name.split(".").at(-1));
    expect(squares).toContain("d5");
    expect(squares).toContain("e5");
    expect(tables.get("check")!.data[dot]).toBe(0);
    // Black's queen on d8 looks down the d-file through the empty d7 and d6 to its own pawn on d5: d5 is attacked
    expect(positiveBspNames(tables.get("threat")!, dot)).toContain("chess.threat.d5");
  });
});
