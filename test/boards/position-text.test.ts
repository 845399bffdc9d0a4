import { describe, expect, it } from "vitest";
import { datasetStats, formatDatasetStats } from "../../boards/dataset-stats.js";
import { othelloBsps } from "../../boards/othello/bsp.js";
import { parseOthelloMoves } from "../../boards/othello/squares.js";
import { boardGrid, positiveBspNames } from "../../boards/position-text.js";
import { othelloRow } from "./othello/rows.js";

const OTHELLO_LAYOUT = { rowLabels: "abcdefgh".split(""), colLabels: "12345678".split(""), topRowLast: false };

describe("position text", () => {
  it("draws the board after black's c4 and lists white's legal replies", () => {
    const tables = othelloBsps(parseOthelloMoves("c4"));
    expect(boardGrid(tables.get("color")!, 0, ["O", ".", "X"], OTHELLO_LAYOUT)).toBe(
      [
        "  1 2 3 4 5 6 7 8",
        "a . . . . . . . .",
        "b . . . . . . . .",
        "c . . . X . . . .",
        "d . . . X X . . .",
        "e . . . X O . . .",
        "f . . . . . . . .",
        "g . . . . . . . .",
        "h . . . . . . . .",
      ].join("\n"),
    );
    expect(positiveBspNames(tables.get("legal")!, 0)).toEqual(["othello.legal.c3", "othello.legal.c5", "othello.legal.e3"]);
    expect(positiveBspNames(tables.get("flipped")!, 0)).toEqual(["othello.flipped.d4"]);
  });

});

describe("dataset stats", () => {
  it("counts splits, results, lengths and duplicate games", () => {
    const rows = [othelloRow("c4 c3", "a"), othelloRow("c4 c3", "b"), othelloRow("f5", "c")];
    rows[2].split = "val";
    rows[2].result = "black";
    const stats = datasetStats(rows, 1);
    expect(stats).toMatchObject({
      games: 3,
      bySplit: { train: 2, val: 1 },
      byResult: { unfinished: 2, black: 1 },
      minLength: 1,
      maxLength: 2,
      duplicates: 1,
      lengthHistogram: [
        [1, 1],
        [2, 2],
      ],
    });
    expect(formatDatasetStats(stats)).toContain("duplicates  1");
  });
});
