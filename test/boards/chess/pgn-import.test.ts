import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { ChessGameRow } from "../../../boards/game-dataset.js";
import {
  emptyPgnImportStats,
  formatPgnSkip,
  importPgnGames,
  judgePgnGame,
  pgnImportConfigSchema,
  replayPgnMoves,
  type PgnImportStats,
  type PgnSkip,
} from "../../../boards/chess/pgn-import.js";
import { PgnFileError } from "../../../boards/chess/pgn-file.js";
import { splitOf } from "../../../boards/splits.js";

const FIXTURES = fileURLToPath(new URL("../../fixtures/pgn/", import.meta.url));
const AWKWARD = path.join(FIXTURES, "awkward.pgn");
const scratch = mkdtempSync(path.join(tmpdir(), "pgn-import-"));
const AWKWARD_GZ = path.join(scratch, "awkward.pgn.gz");
writeFileSync(AWKWARD_GZ, gzipSync(readFileSync(AWKWARD)));

/** The 7 games of awkward.pgn kept by the default config, written out by hand. */
const KEPT_MOVETEXTS = [
  ";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6 4.Ba4 Nf6 5.O-O Be7 6.Re1 b5 7.Bb3 d6 8.c3 O-O",
  ";1.d4 Nf6 2.Nc3 d5 3.Bg5 Bf5 4.Qd2 e6 5.O-O-O Be7 6.f3 h6 7.Bh4 O-O 8.e4 dxe4 9.fxe4 Nxe4 10.Nxe4 Bxh4 11.Nf3 Be7",
  // en passant (3.exd6), promotion with capture and check, and the "+" the file left out of 9...Qxe2
  ";1.e4 a6 2.e5 d5 3.exd6 Bf5 4.dxc7 Qd5 5.cxb8=Q+ Rxb8 6.Nf3 e6 7.Bd3 Bxd3 8.cxd3 Qxd3 9.Qe2 Qxe2+ 10.Kxe2",
  // under-promotion with capture and check
  ";1.d4 d5 2.c4 e5 3.dxe5 d4 4.e3 Bb4+ 5.Bd2 dxe3 6.Bxb4 exf2+ 7.Ke2 fxg1=N+ 8.Ke1 Qh4+ 9.Kd2 Nc6 10.Bc3 Bg4",
  ";1.e4 e5 2.Nf3 d6 3.Bc4 Bg4 4.Nc3 g6 5.Nxe5 Bxd1 6.Bxf7+ Ke7 7.Nd5#",
  ";1.e4 c5 2.Nf3 d6 3.d4 cxd4 4.Nxd4 Nf6 5.Nc3 a6 6.Be3 e5 7.Nb3 Be6 8.f3 Be7 9.Qd2 O-O 10.O-O-O Nbd7 11.g4 b5",
  ";1.e4 e5 2.f4 exf4 3.Bc4 Qh4+ 4.Kf1 b5 5.Bxb5 Nf6 6.Nf3 Qh6 7.d3 Nh5 8.Nh4 Qg5 9.Nf5 c6 10.g4 Nf6 11.Rg1 cxb5 " +
    "12.h4 Qg6 13.h5 Qg5 14.Qf3 Ng8 15.Bxf4 Qf6 16.Nc3 Bc5 17.Nd5 Qxb2 18.Bd6 Bxg1 19.e5 Qxa1+ 20.Ke2 Na6 " +
    "21.Nxg7+ Kd8 22.Qf6+ Nxf6 23.Be7#",
];

function counts(partial: Partial<PgnImportStats["skipped"]>): PgnImportStats["skipped"] {
  return {
    variant: 0, setup: 0, result: 0, elo: 0, "time-control": 0, "too-short": 0, "too-long": 0, "illegal-move": 0,
    ...partial,
  };
}

async function importAll(
  config: Parameters<typeof importPgnGames>[0],
): Promise<{ rows: ChessGameRow[]; stats: PgnImportStats; skips: PgnSkip[] }> {
  const stats = emptyPgnImportStats();
  const skips: PgnSkip[] = [];
  const rows: ChessGameRow[] = [];
  for await (const row of importPgnGames(config, { stats, onSkip: (skip) => skips.push(skip) })) rows.push(row);
  return { rows, stats, skips };
}

describe("importPgnGames on awkward.pgn with the default filters", () => {
  it("keeps 7 games as hand-written movetext and counts 5 skips by reason", async () => {
    const { rows, stats, skips } = await importAll({ files: [AWKWARD] });
    expect(rows.map((row) => row.moves)).toEqual(KEPT_MOVETEXTS);
    expect(rows.map((row) => row.length)).toEqual([16, 22, 19, 20, 13, 22, 45]);
    expect(rows.map((row) => row.result)).toEqual(["1/2-1/2", "0-1", "1-0", "0-1", "1-0", "*", "1-0"]);
    expect(stats).toEqual({ read: 12, kept: 7, skipped: counts({ variant: 1, setup: 1, "too-short": 1, "illegal-move": 2 }) });
    expect(skips.map(({ line, reason }) => [line, reason])).toEqual([
      [61, "too-short"],
      [67, "variant"],
      [76, "setup"],
      [84, "illegal-move"],
      [92, "illegal-move"],
    ]);
    expect(skips.map(({ game }) => game)).toEqual([6, 7, 8, 9, 10]);
    expect(skips[3]).toEqual({
      file: AWKWARD,
      line: 84,
      game: 9,
      headers: { Event: "Illegal king move" },
      reason: "illegal-move",
      detail: "ply 9 (5.Ke3) is not legal in r1bqkbnr/1pp2ppp/p1p5/4p3/4P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 0 5",
      move: { ply: 8, san: "Ke3" },
    });
    expect(skips[4].detail).toBe("ply 4 (2...--) is not a SAN move"); // chess.js itself would play "--" as a null move
    expect(skips[4].move).toEqual({ ply: 3, san: "--" });
    expect(skips[0].move).toBeUndefined();
  });

  it("formats a skip as one log line naming the file, line, game, players and move", () => {
    const skip: PgnSkip = {
      file: "games.pgn",
      line: 12,
      game: 2,
      headers: { Event: "Club", White: "Ann", Black: "Bo" },
      reason: "illegal-move",
      detail: "ply 3 (2.Ke3) is not legal in rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2",
      move: { ply: 2, san: "Ke3" },
    };
    expect(formatPgnSkip(skip)).toBe(
      'games.pgn:12: game 2 (Event "Club", White "Ann", Black "Bo"): illegal-move: ply 3 (2.Ke3) is not legal in ' +
        "rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2",
    );
    expect(formatPgnSkip({ ...skip, headers: {}, reason: "too-short", detail: "3 plies < minPlies 10" })).toBe(
      "games.pgn:12: game 2: too-short: 3 plies < minPlies 10",
    );
  });

  it("fills the dataset columns: ids, source, seed, meta headers, n_chars and split", async () => {
    const { rows } = await importAll({ files: [AWKWARD], datasetName: "lichess", shardSize: 3, storeTokens: true });
    expect(rows.map((row) => row.gameId)).toEqual([
      "lichess-0-0", "lichess-0-1", "lichess-0-2", "lichess-1-0", "lichess-1-1", "lichess-1-2", "lichess-2-0",
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ game: "chess", source: "pgn", seed: null, nChars: row.moves.length });
      expect(row.split).toBe(splitOf(row.moves));
      expect(row.tokens).toHaveLength(row.moves.length);
    }
    expect(Array.from(rows[4].tokens!.subarray(0, 5))).toEqual([15, 6, 4, 27, 9]); // ";1.e4"
    expect(JSON.parse(rows[0].meta)).toEqual({
      Event: "Rated Blitz game",
      Site: "https://lichess.org/abcdefgh",
      WhiteElo: "1850",
      BlackElo: "1790",
      TimeControl: "180+2",
      Termination: "Normal",
    });
    expect(rows[3].meta).toBe(`{"Event":"Lasker Trap","Site":"?"}`);
    expect(rows[6].meta).toBe(`{"Event":"The \\"Immortal\\" Game","WhiteElo":"?"}`);
  });

  it("reads the .pgn.gz and .pgn.zst versions to the same rows, and several files as one dataset", async () => {
    const plain = await importAll({ files: [AWKWARD] });
    const gz = await importAll({ files: [AWKWARD_GZ] });
    const zst = await importAll({ files: [path.join(FIXTURES, "awkward.pgn.zst")] });
    expect(gz.rows).toEqual(plain.rows);
    expect(zst.rows).toEqual(plain.rows);
    expect(zst.stats).toEqual(plain.stats);
    const both = await importAll({ files: [AWKWARD, AWKWARD_GZ], shardSize: 10 });
    expect(both.stats).toEqual({ read: 24, kept: 14, skipped: counts({ variant: 2, setup: 2, "too-short": 2, "illegal-move": 4 }) });
    expect(both.rows.map((row) => row.gameId).slice(9, 11)).toEqual(["chess_pgn-0-9", "chess_pgn-1-0"]);
    expect(both.skips[5].file).toBe(AWKWARD_GZ);
    expect(both.skips[5].game).toBe(6); // game numbers count within each file
  });
});

describe("importPgnGames filters (counts worked out by hand from the fixture's headers)", () => {
  it("results", async () => {
    const { rows, stats } = await importAll({ files: [AWKWARD], results: ["1-0"] });
    expect(rows.map((row) => row.moves)).toEqual([KEPT_MOVETEXTS[2], KEPT_MOVETEXTS[4], KEPT_MOVETEXTS[6]]);
    expect(stats.skipped).toEqual(counts({ variant: 1, setup: 1, result: 6, "too-short": 1 }));
  });

  it("Elo range: both players inside, and a missing or '?' Elo fails", async () => {
    const { rows, stats } = await importAll({ files: [AWKWARD], minElo: 1500, maxElo: 2200 });
    expect(rows.map((row) => row.moves)).toEqual([KEPT_MOVETEXTS[0]]);
    expect(stats.skipped).toEqual(counts({ variant: 1, setup: 1, elo: 8, "illegal-move": 1 }));
    const onlyMin = await importAll({ files: [AWKWARD], minElo: 1200 });
    expect(onlyMin.rows.map((row) => row.length)).toEqual([16, 22, 19, 13]);
  });

  it("time control", async () => {
    const { rows, stats } = await importAll({ files: [AWKWARD], timeControls: ["180+2", "600+0", "-"] });
    expect(rows.map((row) => row.moves)).toEqual([KEPT_MOVETEXTS[0], KEPT_MOVETEXTS[1], KEPT_MOVETEXTS[5]]);
    expect(stats.skipped).toEqual(counts({ variant: 1, setup: 1, "time-control": 7 }));
  });

  it("plies between minPlies and maxPlies", async () => {
    const { rows, stats } = await importAll({ files: [AWKWARD], minPlies: 20, maxPlies: 22 });
    expect(rows.map((row) => row.length)).toEqual([22, 20, 22]);
    expect(stats.skipped).toEqual(counts({ variant: 1, setup: 1, "too-short": 6, "too-long": 1 }));
  });

  it("maxGames stops reading", async () => {
    const { rows, stats } = await importAll({ files: [AWKWARD, AWKWARD_GZ], maxGames: 2 });
    expect(rows.map((row) => row.moves)).toEqual(KEPT_MOVETEXTS.slice(0, 2));
    expect(stats.read).toBe(2);
  });

  it("rejects inconsistent configs", () => {
    expect(() => pgnImportConfigSchema.parse({ files: [AWKWARD], minPlies: 30, maxPlies: 20 })).toThrow(/minPlies must not exceed maxPlies/);
    expect(() => pgnImportConfigSchema.parse({ files: [AWKWARD], minElo: 2000, maxElo: 1000 })).toThrow(/minElo must not exceed maxElo/);
    expect(() => pgnImportConfigSchema.parse({ files: [] })).toThrow();
  });
});

describe("replayPgnMoves", () => {
  it("normalises SAN to chess.js's spelling and refuses ambiguous or malformed moves", () => {
    // over-disambiguation, zeros castling, missing check sign, promotion without "="
    expect(replayPgnMoves(["e4", "e5", "Ngf3", "Nc6", "Bc4", "Nf6", "0-0", "Nxe4", "d3", "Nxf2", "Rxf2", "Bc5"])).toEqual({
      sans: ["e4", "e5", "Nf3", "Nc6", "Bc4", "Nf6", "O-O", "Nxe4", "d3", "Nxf2", "Rxf2", "Bc5"],
    });
    expect(replayPgnMoves(["Nf3", "e5", "d3", "e4", "Nbd2"])).toEqual({ sans: ["Nf3", "e5", "d3", "e4", "Nbd2"] });
    expect(replayPgnMoves(["Nf3", "e5", "d3", "e4", "Nd2"])).toEqual({
      ply: 4,
      san: "Nd2",
      detail: "ply 5 (3.Nd2) is not legal in rnbqkbnr/pppp1ppp/8/8/4p3/3P1N2/PPP1PPPP/RNBQKB1R w KQkq - 0 3",
    });
    expect(replayPgnMoves(["e4", "Z0"])).toEqual({ ply: 1, san: "Z0", detail: "ply 2 (1...Z0) is not a SAN move" });
    expect(replayPgnMoves(["e4", "e5", "Qh5", "Nc6", "Bc4", "Nf6", "Qxf7"])).toEqual({
      sans: ["e4", "e5", "Qh5", "Nc6", "Bc4", "Nf6", "Qxf7#"],
    });
  });

  it("reads under-promotion written without '='", () => {
    const sans = ["d4", "d5", "c4", "e5", "dxe5", "d4", "e3", "Bb4+", "Bd2", "dxe3", "Bxb4", "exf2+", "Ke2", "fxg1N"];
    const replay = replayPgnMoves(sans);
    expect("sans" in replay && replay.sans.at(-1)).toBe("fxg1=N+");
  });
});

describe("judgePgnGame", () => {
  const game = (headers: Record<string, string>, sans: string[] = ["e4", "e5"]) => ({
    headers: new Map(Object.entries(headers)),
    sans,
    resultToken: null,
    line: 1,
  });
  const filters = { minPlies: 0 };

  it("accepts Variant Standard in any case and a missing result as '*'", () => {
    expect(judgePgnGame(game({ Variant: "standard" }), filters)).toEqual({ kept: true, sans: ["e4", "e5"], movetext: ";1.e4 e5", result: "*" });
    expect(judgePgnGame(game({ Variant: "Atomic" }), filters)).toEqual({ kept: false, reason: "variant", detail: `Variant "Atomic"` });
    expect(judgePgnGame(game({ SetUp: "0" }), filters)).toEqual({ kept: false, reason: "setup", detail: `SetUp "0"` });
  });

  it("prefers the Result header over the movetext's result token", () => {
    const verdict = judgePgnGame({ ...game({ Result: "0-1" }), resultToken: "1-0" }, filters);
    expect(verdict.kept && verdict.result).toBe("0-1");
  });
});

describe("malformed files", () => {
  it("are errors naming the file and line", async () => {
    const file = path.join(scratch, "broken.pgn");
    writeFileSync(file, `[Event "ok"]\n\n1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 4. Ba4 Nf6 5. O-O Be7 *\n\n[Event "broken]\n\n1. d4 *\n`);
    const rows: ChessGameRow[] = [];
    const run = async () => {
      for await (const row of importPgnGames({ files: [file] })) rows.push(row);
    };
    await expect(run()).rejects.toThrow(new PgnFileError(file, 5, `malformed tag pair at column 1: "[Event \\"broken]"`));
    expect(rows).toHaveLength(1); // games before the error were already delivered
  });
});
