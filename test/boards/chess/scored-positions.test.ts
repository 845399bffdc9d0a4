import { describe, expect, it } from "vitest";
import { chessDotCount, chessScoredPositions } from "../../../boards/chess/scored-positions.js";

describe("scored positions (spec boards.md §2.4)", () => {
  it("finds the dots of ;1.e4 e5 2.Nf3 at indices 2 and 10", () => {
    expect(chessScoredPositions(";1.e4 e5 2.Nf3")).toEqual([2, 10]);
    expect(chessDotCount(";1.e4 e5 2.Nf3")).toBe(2);
  });

  it("keeps only dots within the first 256 characters and at most 20", () => {
    // 30 moves "N.Nf3 Nf6 " → each full move takes 10 characters up to move 9, 11 from move 10 on
    let text = "";
    for (let move = 1; move <= 30; move++) text += `${move === 1 ? ";" : " "}${move}.Nf3 Nf6`;
    const all = chessScoredPositions(text, text.length, 100);
    expect(all.length).toBe(30);
    expect(all.slice(0, 3)).toEqual([2, 12, 22]);
    expect(all[9]).toBe(93); // " 10." : dot after two digits
    expect(chessScoredPositions(text)).toEqual(all.slice(0, 20));
    expect(chessScoredPositions(text, 100)).toEqual(all.filter((index) => index < 100));
    expect(chessScoredPositions(text, 256, 3)).toEqual([2, 12, 22]);
    expect(chessDotCount(text)).toBe(all.filter((index) => index < 256).length);
    expect(chessDotCount(text)).toBe(24); // dot of move k ≥ 10 at 93 + 11·(k − 10) < 256 up to k = 24
  });
});
