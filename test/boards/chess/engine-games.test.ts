import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Chess } from "chess.js";
import { describe, expect, it } from "vitest";
import type { ChessGameRow } from "../../../boards/game-dataset.js";
import { chessEngineConfigSchema, generateEngineGames } from "../../../boards/chess/engine-games.js";
import { parseChessMovetext } from "../../../boards/chess/movetext.js";
import { EngineNotFoundError, EngineProtocolError, resolveEngineBinary } from "../../../boards/chess/uci-engine.js";
import { writeFakeUciEngine } from "./fake-uci-engine.js";

const scratch = mkdtempSync(path.join(tmpdir(), "engine-games-"));

/** The Lasker trap in UCI, with black's under-promotion f2g1n. */
const LASKER_UCI = [
  "d2d4", "d7d5", "c2c4", "e7e5", "d4e5", "d5d4", "e2e3", "f8b4", "c1d2", "d4e3",
  "d2b4", "e3f2", "e1e2", "f2g1n", "e2e1", "d8h4", "e1d2", "b8c6", "b4c3", "c8g4",
];
const LASKER_MOVETEXT =
  ";1.d4 d5 2.c4 e5 3.dxe5 d4 4.e3 Bb4+ 5.Bd2 dxe3 6.Bxb4 exf2+ 7.Ke2 fxg1=N+ 8.Ke1 Qh4+ 9.Kd2 Nc6 10.Bc3 Bg4";

async function collect(
  config: Parameters<typeof generateEngineGames>[0],
  options?: Parameters<typeof generateEngineGames>[1],
): Promise<ChessGameRow[]> {
  const rows: ChessGameRow[] = [];
  for await (const row of generateEngineGames(config, options)) rows.push(row);
  return rows;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Replays a movetext with chess.js's public API: every SAN must be legal. */
function replay(movetext: string): Chess {
  const chess = new Chess();
  for (const san of parseChessMovetext(movetext)) chess.move(san, { strict: true });
  return chess;
}

describe("generateEngineGames against a fake UCI engine", () => {
  it("speaks the protocol of spec §2.3 and converts UCI (promotion included) to SAN", async () => {
    const fake = writeFakeUciEngine(scratch, { script: LASKER_UCI });
    const rows = await collect({ binary: fake.binary, count: 2, seed: 3, depth: 3, randomOpeningPlies: 0, maxPlies: 20 });
    expect(rows.map((row) => [row.gameId, row.moves, row.length, row.result, row.seed])).toEqual([
      ["chess_engine-0-0", LASKER_MOVETEXT, 20, "*", (3n << 32n) | 0n],
      ["chess_engine-0-1", LASKER_MOVETEXT, 20, "*", (3n << 32n) | 1n],
    ]);
    expect(JSON.parse(rows[0].meta)).toEqual({
      engine: "FakeFish 1.0",
      limit: { depth: 3 },
      skill: 20,
      threads: 1,
      hashMb: 16,
      randomOpeningPlies: 0,
      epsilon: 0,
      maxPlies: 20,
    });
    expect(rows[0]).toMatchObject({ game: "chess", source: "engine", tokens: null, nChars: LASKER_MOVETEXT.length });
    const log = fake.log();
    expect(log.slice(0, 11)).toEqual([
      "uci",
      "setoption name Threads value 1",
      "setoption name Hash value 16",
      "setoption name Skill Level value 20",
      "isready",
      "ucinewgame",
      "isready",
      "position startpos",
      "go depth 3",
      "position startpos moves d2d4",
      "go depth 3",
    ]);
    expect(log).toContain(`position startpos moves ${LASKER_UCI.slice(0, 19).join(" ")}`);
    expect(log.filter((line) => line === "ucinewgame")).toHaveLength(2);
    expect(log.filter((line) => line.startsWith("go "))).toHaveLength(40);
    expect(log.at(-1)).toBe("quit");
  });

  it("stops at mate without asking the engine again, and passes nodes/movetime limits", async () => {
    const scholar = ["e2e4", "e7e5", "f1c4", "b8c6", "d1h5", "g8f6", "h5f7"];
    const fake = writeFakeUciEngine(scratch, { script: scholar });
    const [row] = await collect({ binary: fake.binary, count: 1, nodes: 500, skill: 3, randomOpeningPlies: 0 });
    expect([row.moves, row.result, row.length]).toEqual([";1.e4 e5 2.Bc4 Nc6 3.Qh5 Nf6 4.Qxf7#", "1-0", 7]);
    expect(fake.log().filter((line) => line.startsWith("go "))).toEqual(Array(7).fill("go nodes 500"));
    expect(fake.log()).toContain("setoption name Skill Level value 3");

    const timed = writeFakeUciEngine(scratch, { script: scholar });
    await collect({ binary: timed.binary, count: 1, movetimeMs: 20, randomOpeningPlies: 0, maxPlies: 1 });
    expect(timed.log().filter((line) => line.startsWith("go "))).toEqual(["go movetime 20"]);
  });

  it("with epsilon 1 every ply is random: the engine is never asked, games are legal and seeded", async () => {
    const fake = writeFakeUciEngine(scratch);
    const config = { binary: fake.binary, count: 3, seed: 5, epsilon: 1, randomOpeningPlies: 0, maxPlies: 30 };
    const rows = await collect(config);
    expect(fake.log().some((line) => line.startsWith("go "))).toBe(false);
    for (const row of rows) expect(replay(row.moves).history()).toHaveLength(row.length);
    expect(await collect(config)).toEqual(rows);
  });

  it("an illegal bestmove fails the generation and the engine process is gone", async () => {
    const fake = writeFakeUciEngine(scratch, { script: ["e2e4", "e7e5", "e1e3"] });
    await expect(collect({ binary: fake.binary, count: 1, randomOpeningPlies: 0 })).rejects.toThrow(
      new EngineProtocolError(`UCI engine ${fake.binary} played "e1e3", which is not legal in rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2`),
    );
    expect(processGone(Number(readFileSync(fake.pidFile, "utf8")))).toBe(true);
  });

  it("abandoning the generator early closes the engine", async () => {
    const fake = writeFakeUciEngine(scratch, { script: LASKER_UCI });
    for await (const row of generateEngineGames({ binary: fake.binary, count: 5, shardSize: 1, randomOpeningPlies: 0, maxPlies: 4 })) {
      expect(row.moves).toBe(";1.d4 d5 2.c4 e5");
      break;
    }
    expect(fake.log().at(-1)).toBe("quit");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(processGone(Number(readFileSync(fake.pidFile, "utf8")))).toBe(true);
  });

  it("an engine without a requested option is an error naming the option", async () => {
    const fake = writeFakeUciEngine(scratch, { options: ["Threads", "Hash"] });
    await expect(collect({ binary: fake.binary, count: 1 })).rejects.toThrow(/has no option "Skill Level" \(it announced: Threads, Hash\)/);
  });
});

describe("generateEngineGames configuration", () => {
  it("a missing binary is an EngineNotFoundError naming the paths, never a fallback", async () => {
    const missing = collect({ binary: "saec-no-such-engine", count: 1 });
    await expect(missing).rejects.toThrow(EngineNotFoundError);
    await expect(collect({ binary: "saec-no-such-engine", count: 1 })).rejects.toThrow(/\/usr\/games\/saec-no-such-engine/);
    await expect(collect({ binary: "/opt/nothing/stockfish", count: 1 })).rejects.toThrow(
      'UCI engine "/opt/nothing/stockfish" not found: no executable file at /opt/nothing/stockfish',
    );
  });

  it("takes at most one search limit, depth 6 by default", () => {
    expect(() => chessEngineConfigSchema.parse({ depth: 3, nodes: 100 })).toThrow(/at most one of depth, nodes, movetimeMs/);
    expect(chessEngineConfigSchema.parse({})).toMatchObject({ skill: 20, randomOpeningPlies: 4, epsilon: 0, maxPlies: 400, threads: 1, hashMb: 16 });
  });
});

function findStockfish(): string | null {
  try {
    return resolveEngineBinary("stockfish");
  } catch {
    return null;
  }
}
const stockfish = findStockfish();
const runStockfish = stockfish !== null || process.env.SAEC_EXPECT_STOCKFISH === "1";

describe.skipIf(!runStockfish)(`generateEngineGames with Stockfish (${stockfish ?? "not installed: skipped"})`, () => {
  const config = { count: 2, seed: 11, depth: 2, maxPlies: 40, shardSize: 1 };

  it("plays legal, seeded games: same rows for the same seed whatever the number of engines", async () => {
    const rows = await collect(config);
    expect(rows).toHaveLength(2);
    for (const [index, row] of rows.entries()) {
      const chess = replay(row.moves);
      expect(chess.history()).toHaveLength(row.length);
      if (row.result === "*") expect(row.length).toBe(40);
      else if (row.result === "1/2-1/2") expect(chess.isDraw() || chess.isStalemate()).toBe(true);
      else expect(chess.isCheckmate()).toBe(true);
      expect(row.seed).toBe((11n << 32n) | BigInt(index));
      expect(JSON.parse(row.meta).engine).toMatch(/^Stockfish/);
    }
    expect(rows[0].moves).not.toBe(rows[1].moves);
    expect(await collect(config, { engines: 2 })).toEqual(rows);

    // the random opening depends only on the seed: 4 random plies alone are the start of the engine games
    const openings = await collect({ ...config, maxPlies: 4 });
    for (const [index, opening] of openings.entries()) {
      expect(opening.length).toBe(4);
      expect(rows[index].moves.startsWith(`${opening.moves} `)).toBe(true);
    }
    const otherSeed = await collect({ ...config, seed: 12, maxPlies: 4 });
    expect(otherSeed.map((row) => row.moves)).not.toEqual(openings.map((row) => row.moves));
  });
});
