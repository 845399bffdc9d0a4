// The `engine` chess source (spec boards.md §2.3): self-play by a UCI engine. The first `randomOpeningPlies` plies
// are uniformly random (chess.js `moves()` order, seeded choice) for diversity, later plies are random with
// probability `epsilon`, the rest the engine's bestmove. Game i draws from the stream seeded by S·2^32 + i and
// the engine starts each game with `ucinewgame`, so with a depth or node limit the rows do not depend on how many
// engine processes share the work (a movetime limit depends on machine speed and is not reproducible).

import { Chess, type Move } from "chess.js";
import { z } from "zod";
import { datasetNameSchema, type ChessGameRow } from "../game-dataset.js";
import { checkGameRange, gameSeed, MAX_DATASET_SEED, MAX_GAME_INDEX, randomBelow, xoshiro128, type RandomStream } from "../random.js";
import { splitFractionsSchema } from "../splits.js";
import { chessGameRow } from "./chess-game-row.js";
import { formatChessMovetext } from "./movetext.js";
import type { ChessResult } from "./random-games.js";
import { EngineProtocolError, resolveEngineBinary, UciEngine, type SearchLimit } from "./uci-engine.js";

export const chessEngineConfigSchema = z
  .object({
    count: z.number().int().positive().max(MAX_GAME_INDEX + 1).default(1_000),
    seed: z.number().int().min(0).max(MAX_DATASET_SEED).default(0),
    /** Engine binary: a name looked up on PATH and /usr/games, or a path. */
    binary: z.string().min(1).default("stockfish"),
    /** Search limit: at most one of depth, nodes, movetimeMs; depth 6 when none is given. */
    depth: z.number().int().positive().optional(),
    nodes: z.number().int().positive().optional(),
    movetimeMs: z.number().int().positive().optional(),
    /** UCI `Skill Level` (Stockfish: 0..20). */
    skill: z.number().int().min(0).max(20).default(20),
    threads: z.number().int().positive().default(1),
    hashMb: z.number().int().positive().default(16),
    randomOpeningPlies: z.number().int().min(0).default(4),
    /** Probability that a ply after the opening is a uniformly random legal move instead of the engine's. */
    epsilon: z.number().min(0).max(1).default(0),
    /** Plies after which an unfinished game stops (result `*`). */
    maxPlies: z.number().int().positive().default(400),
    /** Longest wait for one engine answer. */
    timeoutMs: z.number().int().positive().default(30_000),
    /** Games per shard: the unit of work of one engine process and the middle part of `game_id`. */
    shardSize: z.number().int().positive().default(100),
    /** First part of `game_id`: `<datasetName>-<shard>-<index in shard>`. */
    datasetName: datasetNameSchema.default("chess_engine"),
    /** Store the character ids in the optional `tokens` column (spec §4). */
    storeTokens: z.boolean().default(false),
    splits: splitFractionsSchema.default({ train: 0.98, val: 0.01 }),
  })
  .refine((config) => [config.depth, config.nodes, config.movetimeMs].filter((value) => value !== undefined).length <= 1, {
    message: "engine games: give at most one of depth, nodes, movetimeMs",
  });
export type ChessEngineConfig = z.output<typeof chessEngineConfigSchema>;

export function searchLimitOf(config: Pick<ChessEngineConfig, "depth" | "nodes" | "movetimeMs">): SearchLimit {
  if (config.nodes !== undefined) return { nodes: config.nodes };
  if (config.movetimeMs !== undefined) return { movetimeMs: config.movetimeMs };
  return { depth: config.depth ?? 6 };
}

export interface EngineGameSettings {
  limit: SearchLimit;
  randomOpeningPlies: number;
  epsilon: number;
  maxPlies: number;
}

export interface EngineGame {
  sans: string[];
  /** The same moves in UCI notation, as sent to the engine. */
  ucis: string[];
  movetext: string;
  /** `1-0`/`0-1` on mate, `1/2-1/2` on any draw chess.js detects, `*` at maxPlies. */
  result: ChessResult;
}

/** Applies the engine's UCI move; a move that is not legal here is the engine's fault. */
function playEngineMove(chess: Chess, uci: string, engine: UciEngine): Move {
  try {
    return chess.move({ from: uci.slice(0, 2), to: uci.slice(2, 4), promotion: uci.slice(4) || undefined });
  } catch {
    throw new EngineProtocolError(`UCI engine ${engine.path} played "${uci}", which is not legal in ${chess.fen()}`);
  }
}

/** Plays one game against itself on `engine` (which must have been set up; this sends `ucinewgame`). */
export async function playEngineGame(engine: UciEngine, random: RandomStream, settings: EngineGameSettings): Promise<EngineGame> {
  await engine.newGame();
  const chess = new Chess();
  const sans: string[] = [];
  const ucis: string[] = [];
  const finish = (result: ChessResult): EngineGame => ({ sans, ucis, movetext: formatChessMovetext(sans), result });
  for (;;) {
    if (chess.isCheckmate()) return finish(chess.turn() === "w" ? "0-1" : "1-0");
    if (chess.isGameOver()) return finish("1/2-1/2"); // stalemate, insufficient material, threefold, 50 moves
    if (sans.length >= settings.maxPlies) return finish("*");
    const opening = sans.length < settings.randomOpeningPlies;
    // epsilon draws from the stream only when it is on, so epsilon 0 and the opening plies share their streams
    const explore = !opening && settings.epsilon > 0 && random() / 0x100000000 < settings.epsilon;
    let move: Move;
    if (opening || explore) {
      const moves = chess.moves();
      move = chess.move(moves[randomBelow(random, moves.length)]);
    } else {
      move = playEngineMove(chess, await engine.bestMove(ucis, settings.limit), engine);
    }
    sans.push(move.san);
    ucis.push(move.lan);
  }
}

/** Starts an engine with the config's options (Threads, Hash, Skill Level) and waits until it is ready. */
export async function startConfiguredEngine(config: ChessEngineConfig): Promise<UciEngine> {
  const engine = await UciEngine.start({ binary: config.binary, timeoutMs: config.timeoutMs });
  try {
    engine.setOption("Threads", config.threads);
    engine.setOption("Hash", config.hashMb);
    engine.setOption("Skill Level", config.skill);
    await engine.isReady();
  } catch (error) {
    engine.kill();
    throw error;
  }
  return engine;
}

/** The `meta` column of engine games: the engine's name and every setting that shapes its moves. */
export function engineMeta(engineName: string, config: ChessEngineConfig): string {
  return JSON.stringify({
    engine: engineName,
    limit: searchLimitOf(config),
    skill: config.skill,
    threads: config.threads,
    hashMb: config.hashMb,
    randomOpeningPlies: config.randomOpeningPlies,
    epsilon: config.epsilon,
    maxPlies: config.maxPlies,
  });
}

/** Rows of games start..start+count−1 of the config, played on `engine`. */
export async function playEngineShard(
  engine: UciEngine,
  config: ChessEngineConfig,
  start: number,
  count: number,
  signal?: AbortSignal,
): Promise<ChessGameRow[]> {
  checkGameRange("engine games", config.seed, start, count);
  const settings: EngineGameSettings = { ...config, limit: searchLimitOf(config) };
  const meta = engineMeta(engine.name, config);
  const rows: ChessGameRow[] = [];
  for (let index = start; index < start + count; index++) {
    signal?.throwIfAborted();
    const game = await playEngineGame(engine, xoshiro128(config.seed, index), settings);
    rows.push(
      chessGameRow(config, index, {
        source: "engine",
        movetext: game.movetext,
        plies: game.sans.length,
        result: game.result,
        seed: gameSeed(config.seed, index),
        meta,
      }),
    );
  }
  return rows;
}

export interface EngineGenerationOptions {
  /** Engine processes playing shards at the same time (the search runs in them, not in this thread); default 1. */
  engines?: number;
  /** Called after each shard with games done and the target count. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * All `count` games of the config in index order, shard by shard. Every engine process is killed when the
 * generator ends, fails or is abandoned; a missing binary is an EngineNotFoundError before anything starts.
 */
export async function* generateEngineGames(
  input: z.input<typeof chessEngineConfigSchema>,
  options: EngineGenerationOptions = {},
): AsyncGenerator<ChessGameRow> {
  const config = chessEngineConfigSchema.parse(input);
  const binary = resolveEngineBinary(config.binary);
  const resolved: ChessEngineConfig = { ...config, binary };
  const shardCount = Math.ceil(config.count / config.shardSize);
  const engineCount = Math.max(1, Math.min(options.engines ?? 1, shardCount));
  const started: UciEngine[] = [];
  const idle: UciEngine[] = [];
  const waiting: Array<(engine: UciEngine) => void> = [];
  const release = (engine: UciEngine) => {
    const next = waiting.shift();
    if (next !== undefined) next(engine);
    else idle.push(engine);
  };
  const acquire = (): Promise<UciEngine> =>
    idle.length > 0 ? Promise.resolve(idle.pop()!) : new Promise((resolve) => waiting.push(resolve));
  const runShard = async (shard: number): Promise<ChessGameRow[]> => {
    const engine = await acquire();
    const start = shard * config.shardSize;
    const rows = await playEngineShard(engine, resolved, start, Math.min(config.shardSize, config.count - start), options.signal);
    release(engine);
    return rows;
  };
  const inFlight = new Map<number, Promise<ChessGameRow[]>>();
  try {
    for (let i = 0; i < engineCount; i++) {
      const engine = await startConfiguredEngine(resolved);
      started.push(engine);
      idle.push(engine);
    }
    let next = 0;
    let done = 0;
    for (let shard = 0; shard < shardCount; shard++) {
      // keep up to two shards per engine queued so an engine never waits on the in-order delivery
      while (next < shardCount && next < shard + 2 * engineCount) {
        const promise = runShard(next);
        promise.catch(() => {}); // awaited in order below; a failure while an earlier shard is awaited is not unhandled
        inFlight.set(next++, promise);
      }
      const rows = await inFlight.get(shard)!;
      inFlight.delete(shard);
      done += rows.length;
      yield* rows;
      options.onProgress?.(done, config.count);
    }
  } finally {
    await Promise.all(started.map((engine) => engine.close()));
  }
}
