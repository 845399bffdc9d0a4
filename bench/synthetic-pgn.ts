// Synthetic PGN for the boards benchmark: games of the random chess generator written as a Lichess export would
// write them (headers, eval and clock comments, NAGs), so the import benchmark parses what real files hold.

import { parseChessMovetext } from "../boards/chess/movetext.js";
import type { ChessGameRow } from "../boards/game-dataset.js";
import { randomBelow, type RandomStream } from "../boards/random.js";

const PGN_RESULT_TERMINATION: Record<ChessGameRow["result"], string> = {
  "1-0": "Normal",
  "0-1": "Normal",
  "1/2-1/2": "Normal",
  "*": "Unterminated",
};

function clockText(seconds: number): string {
  const s = Math.max(0, seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * One game as a Lichess export writes it: the seven-tag roster plus Elo, time control and termination headers, then
 * every move followed by an eval and clock comment, and an occasional plain comment and NAG.
 */
export function formatBenchPgnGame(row: ChessGameRow, index: number, random: RandomStream): string {
  const whiteElo = 1200 + randomBelow(random, 1400);
  const blackElo = 1200 + randomBelow(random, 1400);
  const headers: Array<[string, string]> = [
    ["Event", "Rated Blitz game"],
    ["Site", `https://lichess.org/bench${String(index).padStart(6, "0")}`],
    ["Date", "2026.11.25"],
    ["Round", "-"],
    ["White", `player${randomBelow(random, 10_000)}`],
    ["Black", `player${randomBelow(random, 10_000)}`],
    ["Result", row.result],
    ["WhiteElo", String(whiteElo)],
    ["BlackElo", String(blackElo)],
    ["TimeControl", "180+2"],
    ["Termination", PGN_RESULT_TERMINATION[row.result]],
  ];
  const clocks = [180, 180];
  const words: string[] = [];
  parseChessMovetext(row.moves).forEach((san, ply) => {
    const side = ply % 2;
    clocks[side] += 2 - randomBelow(random, 8);
    const number = `${Math.floor(ply / 2) + 1}${side === 0 ? "." : "..."}`;
    const evaluation = ((randomBelow(random, 801) - 400) / 100).toFixed(2);
    words.push(number, san, `{ [%eval ${evaluation}] [%clk ${clockText(clocks[side])}] }`);
    if (randomBelow(random, 40) === 0) words.push("$6", "{ an inaccuracy. }");
  });
  words.push(row.result);
  return `${headers.map(([tag, value]) => `[${tag} "${value}"]`).join("\n")}\n\n${words.join(" ")}\n\n`;
}
