import { beforeAll, describe, expect, it } from "vitest";
import { bspIndex, bspNames, emptyBspTable, type BspTable } from "../../../boards/bsp.js";
import {
  OTHELLO_BSP_FUNCTIONS,
  OTHELLO_BSP_IDS,
  othelloBspFunction,
  othelloBsps,
  othelloBspsInto,
  othelloColor,
  othelloFlipped,
  othelloLegal,
  othelloMine,
  othelloMineMasked,
  type OthelloPerspective,
} from "../../../boards/othello/bsp.js";
import { playRandomOthelloGame } from "../../../boards/othello/random-games.js";
import { OthelloTranscriptError } from "../../../boards/othello/replay.js";
import { parseOthelloMoves, parseSquare } from "../../../boards/othello/squares.js";
import { xoshiro128 } from "../../../boards/random.js";
import { ArrayOthello } from "./array-othello.js";

/** Seeded random games as square-id arrays. */
function randomGames(count: number, seed: number): Uint8Array[] {
  const games: Uint8Array[] = [];
  const moves = new Uint8Array(60);
  for (let game = 0; game < count; game++) {
    const length = playRandomOthelloGame(xoshiro128(seed, game), moves).moveCount;
    games.push(moves.slice(0, length));
  }
  return games;
}

/** Entries of one position of a table. */
function row(table: BspTable, position: number): Uint8Array {
  const width = table.data.length / table.positions;
  return table.data.subarray(position * width, (position + 1) * width);
}

/** Squares whose single-class entry is 1 at a position, as names. */
function squaresSet(table: BspTable, position: number): string[] {
  const names = bspNames(table.fn);
  return [...row(table, position)].flatMap((value, index) => (value ? [names[index].split(".")[2]] : []));
}

describe("Othello BSP functions and names (spec §3.1 table)", () => {
  it("lists the five functions with their shapes and masks", () => {
    expect(OTHELLO_BSP_IDS).toEqual(["mine", "mine_masked", "legal", "flipped", "color"]);
    expect(OTHELLO_BSP_FUNCTIONS.map((fn) => [fn.rows, fn.classes, fn.maskedClasses])).toEqual([
      [8, 3, []],
      [8, 3, [1]],
      [8, 1, []],
      [8, 1, []],
      [8, 3, []],
    ]);
    expect(othelloBspFunction("legal")).toBe(othelloLegal);
    expect(() => othelloBspFunction("piece")).toThrow(/must be one of mine, mine_masked, legal, flipped, color, got "piece"/);
  });

  it("names entries by property and square (row letter + column digit)", () => {
    expect(bspNames(othelloMine)).toHaveLength(192);
    expect(bspNames(othelloMineMasked)).toEqual(bspNames(othelloMine)); // masked variants share names
    expect(bspNames(othelloLegal)).toHaveLength(64);
    expect(bspNames(othelloFlipped)).toHaveLength(64);
    expect(bspNames(othelloColor)).toHaveLength(192);
    expect(bspNames(othelloMine)[bspIndex(othelloMine, 2, 2, 0)]).toBe("othello.mine.c3");
    expect(bspNames(othelloMine)[bspIndex(othelloMine, 7, 7, 2)]).toBe("othello.theirs.h8");
    expect(bspNames(othelloMine)[1]).toBe("othello.empty.a1");
    expect(bspNames(othelloColor)[1]).toBe("othello.empty.a1"); // the same BSP as mine's empty
    expect(bspNames(othelloColor)[27 * 3]).toBe("othello.white.d4");
    expect(bspNames(othelloColor)[28 * 3 + 2]).toBe("othello.black.d5");
    expect(bspNames(othelloLegal)[44]).toBe("othello.legal.f5");
    expect(bspNames(othelloFlipped)[8]).toBe("othello.flipped.b1");
  });
});

/** Hand-played opening f5 d6 c3 d3 c5 f4: board rows a..h (B black, W white), next mover, legal and flipped sets. */
const OPENING: { board: string[]; next: "B" | "W"; legal: string[]; flipped: string[] }[] = [
  {
    board: ["........", "........", "........", "...WB...", "...BB...", "....B...", "........", "........"],
    next: "W",
    legal: ["d6", "f4", "f6"],
    flipped: ["e5"],
  },
  {
    board: ["........", "........", "........", "...WWW..", "...BB...", "....B...", "........", "........"],
    next: "B",
    legal: ["c3", "c4", "c5", "c6", "c7"],
    flipped: ["d5"],
  },
  {
    board: ["........", "........", "..B.....", "...BWW..", "...BB...", "....B...", "........", "........"],
    next: "W",
    legal: ["d3", "f3", "f4", "g5"],
    flipped: ["d4"],
  },
  {
    board: ["........", "........", "..B.....", "..WWWW..", "...BB...", "....B...", "........", "........"],
    next: "B",
    legal: ["c2", "c4", "c5", "c6", "c7", "e3"],
    flipped: ["d4"],
  },
  {
    board: ["........", "........", "..B.B...", "..WWBW..", "...BB...", "....B...", "........", "........"],
    next: "W",
    legal: ["b2", "b3", "b4", "b6", "f4", "f6", "g6"],
    flipped: ["d5"],
  },
  {
    // f4 flips e4 (towards d4) and e5 (towards d6): two directions at once
    board: ["........", "........", "..B.B...", "..WWBW..", "...WW...", "...WB...", "........", "........"],
    next: "B",
    legal: ["c2", "d2", "d7", "e3", "e7", "f3", "f6"],
    flipped: ["e4", "e5"],
  },
];

describe("othelloBsps on a hand-played opening", () => {
  const tables = othelloBsps(parseOthelloMoves("f5 d6 c3 d3 c5 f4"));

  it("has one position per move", () => {
    for (const table of tables.values()) expect(table.positions).toBe(6);
  });

  OPENING.forEach(({ board, next, legal, flipped }, position) => {
    it(`position ${position}: mine/empty/theirs, colour, legal moves and flips`, () => {
      const mine = row(tables.get("mine")!, position);
      const masked = row(tables.get("mine_masked")!, position);
      const color = row(tables.get("color")!, position);
      for (let square = 0; square < 64; square++) {
        const cell = board[square >> 3][square & 7];
        const mineClass = cell === "." ? 1 : cell === next ? 0 : 2;
        expect([...mine.subarray(square * 3, square * 3 + 3)], `mine at square ${square}`).toEqual(
          [0, 1, 2].map((cls) => (cls === mineClass ? 1 : 0)),
        );
        expect([...masked.subarray(square * 3, square * 3 + 3)], `mine_masked at square ${square}`).toEqual(
          [0, 1, 2].map((cls) => (cls === mineClass && cls !== 1 ? 1 : 0)),
        );
        const colorClass = cell === "W" ? 0 : cell === "." ? 1 : 2;
        expect([...color.subarray(square * 3, square * 3 + 3)], `color at square ${square}`).toEqual(
          [0, 1, 2].map((cls) => (cls === colorClass ? 1 : 0)),
        );
      }
      expect(squaresSet(tables.get("legal")!, position)).toEqual(legal);
      expect(squaresSet(tables.get("flipped")!, position)).toEqual(flipped);
    });
  });
});

/** The tables computed from ArrayOthello's positions (sharing no code with the engine or boards/othello/bsp.ts). */
function arrayBsps(moves: ArrayLike<number>, perspective: OthelloPerspective): Map<string, Uint8Array> {
  const reference = new ArrayOthello();
  const { cells } = reference;
  const n = moves.length;
  const out = new Map<string, Uint8Array>([
    ["mine", new Uint8Array(n * 192)],
    ["mine_masked", new Uint8Array(n * 192)],
    ["legal", new Uint8Array(n * 64)],
    ["flipped", new Uint8Array(n * 64)],
    ["color", new Uint8Array(n * 192)],
  ]);
  for (let i = 0; i < n; i++) {
    reference.play(moves[i]);
    // after a pass toMove is the mover again; at the game end it is the opponent of the mover (N_i)
    const mineColor = perspective === "true-mover" ? reference.toMove : i % 2 === 0 ? -1 : 1;
    for (let square = 0; square < 64; square++) {
      const mineClass = cells[square] === 0 ? 1 : cells[square] === mineColor ? 0 : 2;
      out.get("mine")![i * 192 + square * 3 + mineClass] = 1;
      if (mineClass !== 1) out.get("mine_masked")![i * 192 + square * 3 + mineClass] = 1;
      out.get("color")![i * 192 + square * 3 + (cells[square] === -1 ? 0 : cells[square] === 0 ? 1 : 2)] = 1;
    }
    for (const square of reference.moves) out.get("legal")![i * 64 + square] = 1;
    for (const square of reference.flipped) out.get("flipped")![i * 64 + square] = 1;
  }
  return out;
}

describe("othelloBsps against a plain array implementation", () => {
  it("agrees on every table in both perspectives over 300 random games", () => {
    const games = randomGames(300, 2024);
    for (const perspective of ["true-mover", "parity"] as const) {
      games.forEach((moves, game) => {
        const expected = arrayBsps(moves, perspective);
        for (const [id, table] of othelloBsps(moves, { perspective })) {
          if (!expected.get(id)!.every((value, index) => value === table.data[index])) {
            expect.fail(`game ${game}, ${perspective}, ${id}: tables disagree`);
          }
        }
      });
    }
  });
});

describe("perspective at passes (spec §3.2)", () => {
  // xoshiro128(1, 349): white's h1 (move 57) leaves black without a move, white plays again (b7), then nobody can
  // move with one square empty; so N_57 = white (parity guesses black) and N_58 = black (parity guesses white).
  const passGame = parseOthelloMoves(
    "d3 c5 d6 c3 f5 f4 b2 g5 g6 a1 g3 g7 c4 b3 h5 e2 c6 g4 c2 b4 f3 b6 a4 c1 h7 e3 a6 f6 e6 f2 d1 g2 a2 e7 g1 a3 " +
      "b5 a5 h8 f1 d8 f7 d2 e8 d7 g8 e1 c7 a7 h6 c8 b1 f8 a8 h4 h3 h2 h1 b7",
  );

  it("differs from parity exactly at the positions after the pass, with mine and theirs swapped", () => {
    expect(passGame).toHaveLength(59);
    expect(passGame[57]).toBe(parseSquare("h1"));
    const trueMover = othelloBsps(passGame).get("mine")!;
    const parity = othelloBsps(passGame, { perspective: "parity" }).get("mine")!;
    const differing: number[] = [];
    for (let position = 0; position < 59; position++) {
      const a = row(trueMover, position);
      const b = row(parity, position);
      if (a.every((value, index) => value === b[index])) continue;
      differing.push(position);
      for (let square = 0; square < 64; square++) {
        expect([a[square * 3], a[square * 3 + 1], a[square * 3 + 2]]).toEqual([b[square * 3 + 2], b[square * 3 + 1], b[square * 3]]);
      }
    }
    expect(differing).toEqual([57, 58]);
  });

  it("keeps legal moves pass-aware in both perspectives", () => {
    const trueMover = othelloBsps(passGame, {}, ["legal"]).get("legal")!;
    const parity = othelloBsps(passGame, { perspective: "parity" }, ["legal"]).get("legal")!;
    expect(parity.data).toEqual(trueMover.data);
    expect(squaresSet(trueMover, 56)).toEqual(["b7", "h1"]); // white to move
    expect(squaresSet(trueMover, 57)).toEqual(["b7"]); // black passes (b7, b8 bracket nothing); white's only move
    expect(squaresSet(trueMover, 58)).toEqual([]); // b8 is left empty: game over
  });
});

describe("game end", () => {
  it("has no legal moves after the last move and orients mine to the opponent of the last mover", () => {
    // A 9-move game: black's c5 wipes out white (13 black discs, no white disc).
    const tables = othelloBsps(parseOthelloMoves("e6 f4 e3 f6 g5 d6 e7 f5 c5"));
    expect([...row(tables.get("legal")!, 8)].every((value) => value === 0)).toBe(true);
    const mine = row(tables.get("mine")!, 8);
    const classCounts = [0, 1, 2].map((cls) => mine.filter((value, index) => value === 1 && index % 3 === cls).length);
    expect(classCounts).toEqual([0, 51, 13]); // "mine" = white, who has no disc
  });

  it("has an all-zero legal map at the last position of every random game", () => {
    for (const moves of randomGames(200, 77)) {
      const legal = othelloBsps(moves, {}, ["legal"]).get("legal")!;
      expect(row(legal, moves.length - 1).every((value) => value === 0)).toBe(true);
    }
  });
});

describe("entries that can be positive (spec §3.2 column), over 2,000 random games", () => {
  // OR of every position's entries, per function
  const everPositive = new Map(OTHELLO_BSP_IDS.map((id) => [id, new Uint8Array(othelloBspFunction(id).classes * 64)]));
  beforeAll(() => {
    for (const moves of randomGames(2000, 9)) {
      for (const [id, table] of othelloBsps(moves)) {
        const seen = everPositive.get(id)!;
        for (let index = 0; index < table.data.length; index++) seen[index % seen.length] |= table.data[index];
      }
    }
  });
  const positive = (id: string) => everPositive.get(id)!.reduce((sum, value) => sum + value, 0);
  const centre = ["d4", "d5", "e4", "e5"].map(parseSquare);
  const corners = ["a1", "a8", "h1", "h8"].map(parseSquare);

  it("reaches 188 / 128 / 60 / 60 / 188", () => {
    expect(OTHELLO_BSP_IDS.map(positive)).toEqual([188, 128, 60, 60, 188]);
  });

  it("never marks a centre square empty or legal, a corner flipped, or mine_masked's empty class", () => {
    for (const square of centre) {
      expect(everPositive.get("mine")![square * 3 + 1]).toBe(0);
      expect(everPositive.get("color")![square * 3 + 1]).toBe(0);
      expect(everPositive.get("legal")![square]).toBe(0);
    }
    for (const square of corners) expect(everPositive.get("flipped")![square]).toBe(0);
    for (let square = 0; square < 64; square++) expect(everPositive.get("mine_masked")![square * 3 + 1]).toBe(0);
  });
});

describe("othelloBspsInto and argument errors", () => {
  it("writes games at row offsets of shared tables, clearing stale rows", () => {
    const [first, second] = randomGames(2, 5);
    const tables = OTHELLO_BSP_FUNCTIONS.map((fn) => emptyBspTable(fn, first.length + second.length));
    for (const table of tables) table.data.fill(7); // stale values must be overwritten
    othelloBspsInto(first, tables, 0);
    othelloBspsInto(second, tables, first.length, { perspective: "parity" });
    const expectedFirst = othelloBsps(first);
    const expectedSecond = othelloBsps(second, { perspective: "parity" });
    for (const table of tables) {
      const width = table.data.length / table.positions;
      expect(table.data.subarray(0, first.length * width)).toEqual(expectedFirst.get(table.fn.id)!.data);
      expect(table.data.subarray(first.length * width)).toEqual(expectedSecond.get(table.fn.id)!.data);
    }
  });

  it("takes a byte buffer at any offset", () => {
    const [moves] = randomGames(1, 6);
    const buffer = new Uint8Array(moves.length * 192 + 1);
    const table: BspTable = { fn: othelloMine, positions: moves.length, data: buffer.subarray(1) };
    othelloBspsInto(moves, [table], 0);
    expect(table.data).toEqual(othelloBsps(moves, {}, ["mine"]).get("mine")!.data);
  });

  it("names the problem in its errors", () => {
    const moves = parseOthelloMoves("f5 d6");
    expect(() => othelloBsps(moves, { perspective: "mover" as OthelloPerspective })).toThrow(
      /perspective must be one of true-mover, parity, got "mover"/,
    );
    expect(() => othelloBsps(moves, {}, ["mine", "mine"])).toThrow(/"mine" is requested twice/);
    expect(() => othelloBsps(moves, {}, ["threat"])).toThrow(/got "threat"/);
    expect(() => othelloBspsInto(moves, [emptyBspTable(othelloLegal, 1)], 0)).toThrow(/has 1 positions .* need 2/);
    const legalTwice = [emptyBspTable(othelloLegal, 2), emptyBspTable(othelloLegal, 2)];
    expect(() => othelloBspsInto(moves, legalTwice, 0)).toThrow(/"legal" is given twice/);
    expect(() => othelloBsps(parseOthelloMoves("f5 f5"), { gameId: "g-3" })).toThrow(OthelloTranscriptError);
    expect(() => othelloBsps(parseOthelloMoves("f5 f5"), { gameId: "g-3" })).toThrow(/^game g-3, move 1/);
  });
});
