// One config for every game source (spec boards.md §1.5, §2.3): Othello random games; chess random games, engine
// self-play and PGN import. `game` defaults to othello and `source` to random.

import { z } from "zod";
import { chessEngineConfigSchema, generateEngineGames } from "./chess/engine-games.js";
import { emptyPgnImportStats, importPgnGames, pgnImportConfigSchema, type PgnImportStats, type PgnSkip } from "./chess/pgn-import.js";
import { chessRandomConfigSchema, generateRandomChessGames } from "./chess/random-games.js";
import type { GameKind, GameRow } from "./game-dataset.js";
import { generateOthelloGames, othelloGenerationConfigSchema } from "./othello/generate.js";

const othelloRandom = othelloGenerationConfigSchema.extend({ game: z.literal("othello"), source: z.literal("random") }).strict();
const chessRandom = chessRandomConfigSchema.extend({ game: z.literal("chess"), source: z.literal("random") }).strict();
const chessEngine = chessEngineConfigSchema.safeExtend({ game: z.literal("chess"), source: z.literal("engine") }).strict();
const chessPgn = pgnImportConfigSchema.safeExtend({ game: z.literal("chess"), source: z.literal("pgn") }).strict();

const sourceUnion = z.discriminatedUnion("game", [
  othelloRandom,
  z.discriminatedUnion("source", [chessRandom, chessEngine, chessPgn]),
]);

/** Fills the defaults of the two discriminators before the union picks an option. */
export const gameSourceConfigSchema = z.preprocess((input) => {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return input;
  return { game: "othello", source: "random", ...input };
}, sourceUnion);

export type GameSourceConfig = z.output<typeof gameSourceConfigSchema>;

export interface GameSourceOptions {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Worker threads (Othello) or engine processes (chess engine); default: available cores / 1 engine. */
  workers?: number;
  /** PGN import only: called for every skipped game. */
  onSkip?: (skip: PgnSkip) => void;
}

export interface GeneratedGames {
  game: GameKind;
  rows: GameRow[];
  /** PGN import only: games read, kept and skipped per reason. */
  importStats?: PgnImportStats;
}

async function collect(rows: AsyncIterable<GameRow>, total: number, options: GameSourceOptions): Promise<GameRow[]> {
  const collected: GameRow[] = [];
  for await (const row of rows) {
    collected.push(row);
    if (collected.length % 100 === 0) options.onProgress?.(collected.length, total);
  }
  options.onProgress?.(collected.length, Math.max(total, collected.length));
  return collected;
}

/** Rows of the dataset a source config describes. */
export async function generateGames(config: GameSourceConfig, options: GameSourceOptions = {}): Promise<GeneratedGames> {
  if (config.game === "othello") {
    const { game: _game, source: _source, ...othello } = config;
    const rows = await generateOthelloGames({ ...othello, ...options });
    return { game: "othello", rows };
  }
  switch (config.source) {
    case "random": {
      const rows = generateRandomChessGames(config);
      options.onProgress?.(rows.length, rows.length);
      return { game: "chess", rows };
    }
    case "engine":
      return {
        game: "chess",
        rows: await collect(generateEngineGames(config, { engines: options.workers, signal: options.signal }), config.count, options),
      };
    case "pgn": {
      const importStats = emptyPgnImportStats();
      const imported = importPgnGames(config, { stats: importStats, signal: options.signal, onSkip: options.onSkip });
      const rows = await collect(imported, config.maxGames ?? 0, options);
      return { game: "chess", rows, importStats };
    }
  }
}
