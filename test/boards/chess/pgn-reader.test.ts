import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { PgnFileError, readPgnText } from "../../../boards/chess/pgn-file.js";
import { parseTagLine, readPgnGames, type PgnGame } from "../../../boards/chess/pgn-reader.js";

const AWKWARD = fileURLToPath(new URL("../../fixtures/pgn/awkward.pgn", import.meta.url));

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function gamesOf(text: string, size = 1 << 16): Promise<PgnGame[]> {
  const games: PgnGame[] = [];
  for await (const game of readPgnGames(chunksOf(text, size), "inline.pgn")) games.push(game);
  return games;
}

async function readError(text: string): Promise<PgnFileError> {
  try {
    await gamesOf(text);
  } catch (error) {
    if (error instanceof PgnFileError) return error;
    throw error;
  }
  throw new Error("expected a PgnFileError");
}

describe("parseTagLine", () => {
  it("reads several tag pairs on one line and unescapes quotes and backslashes", () => {
    expect(parseTagLine(`[White "Anderssen"] [Black "Kieseritzky"]`, "f.pgn", 3)).toEqual([
      ["White", "Anderssen"],
      ["Black", "Kieseritzky"],
    ]);
    expect(parseTagLine(`[Event "The \\"Immortal\\" Game \\\\ 1851"]`, "f.pgn", 1)).toEqual([
      ["Event", `The "Immortal" Game \\ 1851`],
    ]);
  });

  it("names the file, line and column of a malformed tag pair", () => {
    expect(() => parseTagLine(`[Site "unterminated]`, "f.pgn", 7)).toThrow(/^f\.pgn:7: malformed tag pair at column 1/);
    expect(() => parseTagLine(`[White "a"] junk`, "f.pgn", 2)).toThrow(/^f\.pgn:2: malformed tag pair at column 13/);
  });
});

describe("readPgnGames on the awkward fixture", () => {
  it("splits the 12 games at the lines where their tags start", async () => {
    const games: PgnGame[] = [];
    for await (const game of readPgnGames(readPgnText(AWKWARD), AWKWARD)) games.push(game);
    expect(games.map((game) => game.line)).toEqual([1, 14, 31, 42, 50, 61, 67, 76, 84, 92, 98, 106]);
    expect(games.map((game) => game.headers.get("Event"))).toEqual([
      "Rated Blitz game",
      "Annotated",
      "Promotion with check",
      "Lasker Trap",
      "Legal's mate",
      "Too short",
      "Chess960",
      "From a position",
      "Illegal king move",
      "Null move",
      "Zeros",
      `The "Immortal" Game`,
    ]);
    expect(games.map((game) => game.resultToken)).toEqual([
      "1/2-1/2", "0-1", "1-0", "0-1", "1-0", "1-0", "*", "*", "*", "*", "*", "1-0",
    ]);

    // comments, clock/eval annotations and "1..." numbers
    expect(games[0].sans).toEqual(["e4", "e5", "Nf3", "Nc6", "Bb5", "a6", "Ba4", "Nf6", "O-O", "Be7", "Re1", "b5", "Bb3", "d6", "c3", "O-O"]);
    // nested variations, NAGs, glyphs, a ";" comment, a comment line starting with "[", a "%" escape line
    expect(games[1].headers.get("White")).toBe("Zoë Łukasiewicz");
    expect(games[1].sans).toEqual([
      "d4", "Nf6", "Nc3", "d5", "Bg5", "Bf5", "Qd2", "e6", "O-O-O", "Be7", "f3",
      "h6", "Bh4", "O-O", "e4", "dxe4", "fxe4", "Nxe4", "Nxe4", "Bxh4", "Nf3", "Be7",
    ]);
    // tokens are kept as written: the missing "+" of Qxe2 is chess.js's business at replay
    expect(games[2].sans.slice(8)).toEqual(["cxb8=Q+", "Rxb8", "Nf3", "e6", "Bd3", "Bxd3", "cxd3", "Qxd3", "Qe2", "Qxe2", "Kxe2"]);
    // CRLF lines, "??"/"!" glyphs, a variation nested in a variation
    expect(games[3].sans).toEqual([
      "d4", "d5", "c4", "e5", "dxe5", "d4", "e3", "Bb4+", "Bd2", "dxe3",
      "Bxb4", "exf2+", "Ke2", "fxg1=N+", "Ke1", "Qh4+", "Kd2", "Nc6", "Bc3", "Bg4",
    ]);
    expect(games[3].headers.get("Result")).toBe("0-1"); // no "\r" left in values
    expect(games[7].headers.get("FEN")).toBe("4k3/8/8/8/8/8/4P3/4K3 w - - 0 1");
    expect(games[9].sans.slice(0, 5)).toEqual(["d4", "d5", "c4", "--", "Nc3"]);
    // "0-0" castling, a NAG glued to its move, a lone "!" glyph
    expect(games[10].sans.slice(16)).toEqual(["Qd2", "O-O", "O-O-O", "Nbd7", "g4", "b5"]);
    expect(games[11].headers.get("White")).toBe("Anderssen");
    expect(games[11].headers.get("Black")).toBe("Kieseritzky");
    expect(games[11].headers.has("Result")).toBe(false);
    expect(games[11].sans).toHaveLength(45);
    expect(games[11].sans.at(-1)).toBe("Be7#");
  });

  it("gives the same games whatever the chunk size", async () => {
    const whole: PgnGame[] = [];
    for await (const game of readPgnGames(readPgnText(AWKWARD), AWKWARD)) whole.push(game);
    for (const chunkBytes of [1, 7, 64]) {
      const games: PgnGame[] = [];
      for await (const game of readPgnGames(readPgnText(AWKWARD, { chunkBytes }), AWKWARD)) games.push(game);
      expect(games).toEqual(whole);
    }
  });
});

describe("readPgnGames on inline text", () => {
  it("reads games without tags, separated by their results, and drops a leading byte-order mark", async () => {
    const games = await gamesOf("\uFEFF1. e4 e5 2. Nf3 1-0\n1. d4 d5 0-1\n\n1. c4 *\n");
    expect(games.map((game) => [game.line, game.sans, game.resultToken, game.headers.size])).toEqual([
      [1, ["e4", "e5", "Nf3"], "1-0", 0],
      [2, ["d4", "d5"], "0-1", 0],
      [4, ["c4"], "*", 0],
    ]);
  });

  it("keeps a game with tags but no moves apart from the next one", async () => {
    const games = await gamesOf(`[Event "a"]\n\n[Event "b"]\n\n1. e4 *\n`);
    expect(games.map((game) => [game.headers.get("Event"), game.sans])).toEqual([
      ["a", []],
      ["b", ["e4"]],
    ]);
  });

  it("treats text after the last move as the end of the game without a result", async () => {
    const games = await gamesOf(`[Event "a"]\n\n1. e4 e5 2. Nf3`);
    expect(games).toEqual([{ headers: new Map([["Event", "a"]]), sans: ["e4", "e5", "Nf3"], resultToken: null, line: 1 }]);
  });

  it("reports structural errors with the line", async () => {
    expect((await readError(`[Event "a"]\n[Site "b]\n\n1. e4 *\n`)).message).toMatch(/^inline\.pgn:2: malformed tag pair/);
    expect((await readError(`[Event "a"]\n\n1. e4 e5\n2. Nf3 ) Nc6 *\n`)).message).toBe("inline.pgn:4: unmatched ')' at column 8");
    expect((await readError(`[Event "a"]\n\n1. e4 } e5 *\n`)).message).toBe("inline.pgn:3: unmatched '}' at column 7");
    const comment = await readError(`[Event "a"]\n\n1. e4 e5\n2. Nf3 { never closed\n[Event "b"]\n\n1. d4 *\n`);
    expect([comment.line, comment.message]).toEqual([4, "inline.pgn:4: comment '{' is never closed"]);
    const variation = await readError(`[Event "a"]\n\n1. e4 (1. d4 d5\n2. c4 *\n\n[Event "b"]\n\n1. d4 *\n`);
    expect(variation.message).toBe("inline.pgn:3: variation '(' is never closed before the game ends");
  });
});

describe("readPgnGames memory", () => {
  /** `count` Lichess-like games made on demand, a few at a time, so the source itself holds nothing. */
  async function* syntheticPgn(count: number, pulled: { chunks: number }): AsyncGenerator<string> {
    for (let i = 0; i < count; i += 10) {
      let text = "";
      for (let j = i; j < Math.min(count, i + 10); j++) {
        text +=
          `[Event "Game ${j}"]\n[Site "https://lichess.org/${j.toString(36).padStart(8, "0")}"]\n[Result "1-0"]\n` +
          `[WhiteElo "${1500 + (j % 700)}"]\n[BlackElo "${1400 + (j % 900)}"]\n\n` +
          `1. e4 { [%clk 0:03:00] } 1... e5 { [%clk 0:03:00] } 2. Nf3 (2. f4 exf4 (2... d5)) 2... Nc6 $1 ` +
          `3. Bb5 a6 4. Ba4 Nf6 5. O-O Be7 6. Re1 b5 7. Bb3 d6 1-0\n\n`;
      }
      pulled.chunks++;
      yield text;
    }
  }

  it("streams: the first game arrives after one chunk, and 20,000 games leave the heap where 2,000 did", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const pulled = { chunks: 0 };
    let count = 0;
    let heapAt2000 = 0;
    let plies = 0;
    for await (const game of readPgnGames(syntheticPgn(20_000, pulled), "synthetic.pgn")) {
      if (count === 0) expect(pulled.chunks).toBe(1);
      count++;
      plies += game.sans.length;
      if (count === 2_000) {
        gc();
        heapAt2000 = process.memoryUsage().heapUsed;
      }
    }
    gc();
    const growth = process.memoryUsage().heapUsed - heapAt2000;
    expect(count).toBe(20_000);
    expect(plies).toBe(20_000 * 14);
    // 18,000 more games held in memory would take well over 10 MB
    expect(growth).toBeLessThan(2 * 1024 * 1024);
  });
});
