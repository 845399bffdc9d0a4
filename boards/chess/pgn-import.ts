// The `pgn` chess source (spec boards.md §2.3): games streamed from PGN files are filtered, replayed with chess.js
// and re-formatted as movetext (§2.2). Every skipped game is counted under the first reason that applies, in
// the order of PGN_SKIP_REASONS: header checks first, then the ply count, then the replay (the costly part).

import { Chess } from "chess.js";
import { z } from "zod";
import { datasetNameSchema, type ChessGameRow } from "../game-dataset.js";
import { splitFractionsSchema } from "../splits.js";
import { chessGameRow } from "./chess-game-row.js";
import { formatChessMovetext } from "./movetext.js";
import { readPgnText } from "./pgn-file.js";
import { readPgnGames, type PgnGame } from "./pgn-reader.js";
import type { ChessResult } from "./random-games.js";

const CHESS_RESULTS = ["1-0", "0-1", "1/2-1/2", "*"] as const satisfies readonly ChessResult[];

/** Why a game was not imported, in the order the checks run. */
export const PGN_SKIP_REASONS = [
  "variant", // a Variant header other than Standard
  "setup", // a FEN or SetUp header: the game does not start from the initial position
  "result", // result not in `results`
  "elo", // WhiteElo or BlackElo missing or outside [minElo, maxElo]
  "time-control", // TimeControl not in `timeControls`
  "too-short", // fewer than minPlies moves
  "too-long", // more than maxPlies moves
  "illegal-move", // a move that does not parse as SAN or is not legal in its position
] as const;
export type PgnSkipReason = (typeof PGN_SKIP_REASONS)[number];

/** Headers copied into the `meta` column (spec §4), in this order. */
export const PGN_KEPT_HEADERS = ["Event", "Site", "WhiteElo", "BlackElo", "TimeControl", "Termination"] as const;
/** Headers that name a skipped game in a PgnSkip, in this order. */
export const PGN_SKIP_HEADERS = ["Event", "White", "Black"] as const;

export const pgnImportConfigSchema = z
  .object({
    /** `.pgn`, `.pgn.gz` or `.pgn.zst` files, read in this order. */
    files: z.array(z.string().min(1)).min(1),
    minPlies: z.number().int().min(0).default(10),
    maxPlies: z.number().int().positive().optional(),
    /** Keep only these results (from the Result header, else the movetext's result token, else `*`). */
    results: z.array(z.enum(CHESS_RESULTS)).min(1).optional(),
    /** Both players' Elo must lie in [minElo, maxElo]; a game without both Elo headers fails either bound. */
    minElo: z.number().int().optional(),
    maxElo: z.number().int().optional(),
    /** Keep only these exact TimeControl header values (Lichess: `<seconds>+<increment>`, `-` for correspondence). */
    timeControls: z.array(z.string()).min(1).optional(),
    /** Stop after this many imported games. */
    maxGames: z.number().int().positive().optional(),
    /** Games per shard: the middle part of `game_id`. */
    shardSize: z.number().int().positive().default(10_000),
    /** First part of `game_id`: `<datasetName>-<shard>-<index in shard>`. */
    datasetName: datasetNameSchema.default("chess_pgn"),
    /** Store the character ids in the optional `tokens` column (spec §4). */
    storeTokens: z.boolean().default(false),
    splits: splitFractionsSchema.default({ train: 0.98, val: 0.01 }),
  })
  .refine((config) => config.maxPlies === undefined || config.minPlies <= config.maxPlies, {
    message: "pgn import: minPlies must not exceed maxPlies",
  })
  .refine((config) => config.minElo === undefined || config.maxElo === undefined || config.minElo <= config.maxElo, {
    message: "pgn import: minElo must not exceed maxElo",
  });
export type PgnImportConfig = z.output<typeof pgnImportConfigSchema>;
export type PgnFilters = Pick<PgnImportConfig, "minPlies" | "maxPlies" | "results" | "minElo" | "maxElo" | "timeControls">;

/** The move a game was rejected on: its 0-based ply and the token as written in the file. */
export interface PgnBadMove {
  ply: number;
  san: string;
}

export type PgnVerdict =
  | { kept: true; sans: string[]; movetext: string; result: ChessResult }
  | { kept: false; reason: PgnSkipReason; detail: string; move?: PgnBadMove };

/** Running counts of an import: games read, games imported and games skipped per reason. */
export interface PgnImportStats {
  read: number;
  kept: number;
  skipped: Record<PgnSkipReason, number>;
}

export function emptyPgnImportStats(): PgnImportStats {
  return { read: 0, kept: 0, skipped: Object.fromEntries(PGN_SKIP_REASONS.map((reason) => [reason, 0])) as PgnImportStats["skipped"] };
}

/** A skipped game, for logging: where it is (file, line, number in the file, naming headers), why, and the bad move. */
export interface PgnSkip {
  file: string;
  /** 1-based line where the game starts. */
  line: number;
  /** 1-based number of the game in its file. */
  game: number;
  /** The game's PGN_SKIP_HEADERS that are present. */
  headers: Partial<Record<(typeof PGN_SKIP_HEADERS)[number], string>>;
  reason: PgnSkipReason;
  detail: string;
  /** `illegal-move` only: the ply and the move it stopped at. */
  move?: PgnBadMove;
}

/** One line for a log: `file:line: game N (Event "…", White "…", Black "…"): reason: detail`. */
export function formatPgnSkip(skip: PgnSkip): string {
  const headers = Object.entries(skip.headers).map(([tag, value]) => `${tag} ${JSON.stringify(value)}`);
  const game = `game ${skip.game}${headers.length > 0 ? ` (${headers.join(", ")})` : ""}`;
  return `${skip.file}:${skip.line}: ${game}: ${skip.reason}: ${skip.detail}`;
}

/** Tokens a SAN (or the common variants chess.js also reads: `0-0`, over-disambiguation, `e2e4`) can look like. */
const SAN_SHAPE = /^(?:[PNBRQK]?[a-h]?[1-8]?x?-?[a-h][1-8](?:=?[NBRQnbrq])?|O-O(?:-O)?|0-0(?:-0)?)[+#]?$/;

function resultOf(game: PgnGame): ChessResult {
  const header = game.headers.get("Result");
  for (const candidate of [header, game.resultToken]) {
    if ((CHESS_RESULTS as readonly string[]).includes(candidate ?? "")) return candidate as ChessResult;
  }
  return "*";
}

function eloOf(game: PgnGame, tag: "WhiteElo" | "BlackElo"): number | null {
  const value = game.headers.get(tag)?.trim() ?? "";
  return /^\d+$/.test(value) ? Number(value) : null;
}

/** Replays the SANs from the initial position: chess.js's SAN of each move, or the first move that fails. */
export function replayPgnMoves(sans: readonly string[]): { sans: string[] } | { ply: number; san: string; detail: string } {
  const chess = new Chess();
  const played: string[] = [];
  for (let ply = 0; ply < sans.length; ply++) {
    const san = sans[ply];
    const where = `ply ${ply + 1} (${Math.floor(ply / 2) + 1}${ply % 2 === 0 ? "." : "..."}${san})`;
    if (!SAN_SHAPE.test(san)) return { ply, san, detail: `${where} is not a SAN move` };
    try {
      played.push(chess.move(san).san);
    } catch {
      return { ply, san, detail: `${where} is not legal in ${chess.fen()}` };
    }
  }
  return { sans: played };
}

/** Decides one game: the first failed check (spec §2.3 order, see PGN_SKIP_REASONS), or its canonical movetext. */
export function judgePgnGame(game: PgnGame, filters: PgnFilters): PgnVerdict {
  const skip = (reason: PgnSkipReason, detail: string): PgnVerdict => ({ kept: false, reason, detail });
  const { headers } = game;
  const variant = headers.get("Variant");
  if (variant !== undefined && variant.trim().toLowerCase() !== "standard") return skip("variant", `Variant "${variant}"`);
  for (const tag of ["FEN", "SetUp"]) {
    if (headers.has(tag)) return skip("setup", `${tag} "${headers.get(tag)}"`);
  }
  const result = resultOf(game);
  if (filters.results !== undefined && !filters.results.includes(result)) return skip("result", `result ${result}`);
  if (filters.minElo !== undefined || filters.maxElo !== undefined) {
    for (const tag of ["WhiteElo", "BlackElo"] as const) {
      const elo = eloOf(game, tag);
      if (elo === null) return skip("elo", `no ${tag}`);
      if (elo < (filters.minElo ?? -Infinity) || elo > (filters.maxElo ?? Infinity)) return skip("elo", `${tag} ${elo}`);
    }
  }
  if (filters.timeControls !== undefined) {
    const timeControl = headers.get("TimeControl");
    if (timeControl === undefined || !filters.timeControls.includes(timeControl)) {
      return skip("time-control", timeControl === undefined ? "no TimeControl" : `TimeControl "${timeControl}"`);
    }
  }
  const plies = game.sans.length;
  if (plies < filters.minPlies) return skip("too-short", `${plies} plies < minPlies ${filters.minPlies}`);
  if (filters.maxPlies !== undefined && plies > filters.maxPlies) {
    return skip("too-long", `${plies} plies > maxPlies ${filters.maxPlies}`);
  }
  const replay = replayPgnMoves(game.sans);
  if (!("sans" in replay)) return { kept: false, reason: "illegal-move", detail: replay.detail, move: { ply: replay.ply, san: replay.san } };
  return { kept: true, sans: replay.sans, movetext: formatChessMovetext(replay.sans), result };
}

/** The headers of `tags` the game has, in the order of `tags`. */
function headersOf<Tag extends string>(game: PgnGame, tags: readonly Tag[]): Partial<Record<Tag, string>> {
  const kept: Partial<Record<Tag, string>> = {};
  for (const tag of tags) {
    const value = game.headers.get(tag);
    if (value !== undefined) kept[tag] = value;
  }
  return kept;
}

/** The `meta` column of an imported game: the kept headers present, as JSON. */
export function pgnMeta(game: PgnGame): string {
  return JSON.stringify(headersOf(game, PGN_KEPT_HEADERS));
}

export interface PgnImportOptions {
  /** Filled in while importing (read, kept, skipped per reason). */
  stats?: PgnImportStats;
  onSkip?: (skip: PgnSkip) => void;
  signal?: AbortSignal;
}

/** Rows of the games of one stream that pass the filters; `file` names the stream in skips. */
export async function* importPgnGameStream(
  games: AsyncIterable<PgnGame>,
  file: string,
  config: PgnImportConfig,
  options: PgnImportOptions = {},
): AsyncGenerator<ChessGameRow> {
  const stats = options.stats ?? emptyPgnImportStats();
  let gameInFile = 0;
  for await (const game of games) {
    options.signal?.throwIfAborted();
    if (config.maxGames !== undefined && stats.kept >= config.maxGames) return;
    stats.read++;
    gameInFile++;
    const verdict = judgePgnGame(game, config);
    if (!verdict.kept) {
      stats.skipped[verdict.reason]++;
      const { reason, detail, move } = verdict;
      const where = { file, line: game.line, game: gameInFile, headers: headersOf(game, PGN_SKIP_HEADERS) };
      options.onSkip?.({ ...where, reason, detail, ...(move ? { move } : {}) });
      continue;
    }
    const index = stats.kept++;
    yield chessGameRow(config, index, {
      source: "pgn",
      movetext: verdict.movetext,
      plies: verdict.sans.length,
      result: verdict.result,
      seed: null,
      meta: pgnMeta(game),
    });
  }
}

/** Rows of every file of the config, in file order, streaming (one game in memory at a time). */
export async function* importPgnGames(
  input: z.input<typeof pgnImportConfigSchema>,
  options: PgnImportOptions = {},
): AsyncGenerator<ChessGameRow> {
  const config = pgnImportConfigSchema.parse(input);
  const stats = options.stats ?? emptyPgnImportStats();
  for (const file of config.files) {
    if (config.maxGames !== undefined && stats.kept >= config.maxGames) return;
    yield* importPgnGameStream(readPgnGames(readPgnText(file), file), file, config, { ...options, stats });
  }
}
