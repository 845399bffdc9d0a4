import { describe, expect, it } from "vitest";
import { formatOthelloMoves, parseOthelloMoves, parseSquare, squareName } from "../../../boards/othello/squares.js";

describe("othello squares (spec boards.md §1.1)", () => {
  it("names id = row·8 + col as row letter + column digit", () => {
    expect([0, 7, 8, 19, 26, 37, 44, 63].map(squareName)).toEqual(["a1", "a8", "b1", "c4", "d3", "e6", "f5", "h8"]);
  });

  it("parses every name back", () => {
    for (let square = 0; square < 64; square++) expect(parseSquare(squareName(square))).toBe(square);
    expect(parseSquare("H8")).toBe(63);
    expect(() => parseSquare("i1")).toThrow(/got "i1"/);
    expect(() => squareName(64)).toThrow(/got 64/);
  });

  it("formats the canonical transcript text and parses it back", () => {
    expect(formatOthelloMoves([44, 29, 18])).toBe("f5 d6 c3");
    expect(Array.from(parseOthelloMoves(" f5  d6\nc3 "))).toEqual([44, 29, 18]);
    expect(formatOthelloMoves([])).toBe("");
  });
});
