import { Chess } from "chess.js";
import { describe, expect, it } from "vitest";
import {
  formatChessMovetext,
  movetextPrefix,
  parseChessMovetext,
  sanOfWord,
} from "../../../boards/chess/movetext.js";

/** SANs chess.js writes for moves given as from-to squares (promotion letter appended). */
function sansOf(uciMoves: string): string[] {
  const chess = new Chess();
  return uciMoves.split(" ").map((uci) => chess.move({ from: uci.slice(0, 2), to: uci.slice(2, 4), promotion: uci[4] }).san);
}

describe("chess movetext (spec boards.md §2.2)", () => {
  it("writes en passant as a plain capture, castling as O-O and check with +", () => {
    const sans = sansOf("e2e4 g8f6 e4e5 d7d5 e5d6 c7d6 g1f3 g7g6 f1c4 f8g7 e1g1 e8g8 c4f7 f8f7");
    expect(formatChessMovetext(sans)).toBe(";1.e4 Nf6 2.e5 d5 3.exd6 cxd6 4.Nf3 g6 5.Bc4 Bg7 6.O-O O-O 7.Bxf7+ Rxf7");
  });

  it("writes promotion as =Q and mate with #", () => {
    expect(formatChessMovetext(sansOf("e2e4 d7d5 e4d5 c7c6 d5c6 d8b6 c6b7 c8d7 b7a8q"))).toBe(
      ";1.e4 d5 2.exd5 c6 3.dxc6 Qb6 4.cxb7 Bd7 5.bxa8=Q",
    );
    expect(formatChessMovetext(sansOf("e2e4 e7e5 f1c4 b8c6 d1h5 g8f6 h5f7"))).toBe(";1.e4 e5 2.Bc4 Nc6 3.Qh5 Nf6 4.Qxf7#");
    expect(formatChessMovetext(sansOf("f2f3 e7e5 g2g4 d8h4"))).toBe(";1.f3 e5 2.g4 Qh4#");
  });

  it("writes queenside castling and file disambiguation", () => {
    const sans = sansOf("d2d4 d7d5 b1c3 b8c6 c1f4 c8f5 d1d2 d8d7 e1c1 e8c8");
    expect(formatChessMovetext(sans)).toBe(";1.d4 d5 2.Nc3 Nc6 3.Bf4 Bf5 4.Qd2 Qd7 5.O-O-O O-O-O");
    expect(formatChessMovetext(sansOf("b1c3 b8c6 e2e3 g8f6 g1e2"))).toBe(";1.Nc3 Nc6 2.e3 Nf6 3.Nge2");
  });

  it("numbers moves past 9 without a trailing space", () => {
    const text = formatChessMovetext(new Array(21).fill("Nf3"));
    expect(text.endsWith(" 10.Nf3 Nf3 11.Nf3")).toBe(true);
    expect(text.startsWith(";1.Nf3 Nf3 2.Nf3")).toBe(true);
    expect(formatChessMovetext([])).toBe("");
    expect([0, 1, 2, 3, 18].map(movetextPrefix)).toEqual([";1.", " ", " 2.", " ", " 10."]);
  });

  it("refuses an empty SAN or one with whitespace", () => {
    expect(() => formatChessMovetext(["e4", ""])).toThrow(/half-move 1/);
    expect(() => formatChessMovetext(["e4 e5"])).toThrow(/half-move 0/);
  });

  it("parses movetext back into SANs", () => {
    expect(parseChessMovetext(";1.e4 e5 2.Nf3 Nc6 10.O-O-O bxa8=Q+")).toEqual(["e4", "e5", "Nf3", "Nc6", "O-O-O", "bxa8=Q+"]);
    expect(parseChessMovetext("")).toEqual([]);
    expect(sanOfWord(";1.e4")).toBe("e4");
    expect(sanOfWord("12.Nf")).toBe("Nf");
    expect(sanOfWord("e5")).toBe("e5");
    expect(() => parseChessMovetext(";1.e4 e5 2.")).toThrow(/word 2 \("2\."\)/);
  });
});
