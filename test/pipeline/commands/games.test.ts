import { describe, expect, it } from "vitest";
import { showOthelloPosition } from "../../../pipeline/commands/games.js";
import { othelloRow } from "../../boards/othello/rows.js";

describe("saec games show", () => {
  it("shows a position with mine/theirs from the next player's side", () => {
    const text = showOthelloPosition(othelloRow("c4 c3"), 1, "true-mover");
    expect(text.split("\n")[0]).toBe("demo-0-0: after move 1 (c3) of 2, unfinished wins (train)");
    // after c4 c3 white has c3 and d4 (flipped back), black d5 c4 e4; black to move: black = mine
    expect(text).toContain("c . . t m . . . .");
    expect(text).toMatch(/^flipped\s+d4$/m);
    expect(() => showOthelloPosition(othelloRow("c4 c3"), 2, "true-mover")).toThrow("--move 2 is outside 0..1");
  });
});
