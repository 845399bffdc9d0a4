// `saec games generate|import|show|stats`: make a game dataset directory outside a pipeline, and look inside one.

import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import type { BspTable } from "../../boards/bsp.js";
import { chessBoardBspTables, chessPiece } from "../../boards/chess/bsp.js";
import { chessStrategyBspTables } from "../../boards/chess/strategy-tables.js";
import { readDatasetDirectory, writeDatasetDirectory, type DatasetManifest } from "../../boards/dataset-directory.js";
import { gameSourceConfigSchema, generateGames, type GameSourceOptions } from "../../boards/game-sources.js";
import { formatPgnSkip, type PgnSkip } from "../../boards/chess/pgn-import.js";
import { parseConfigWith } from "../config.js";
import { collectSetting, integerOption } from "./options.js";
import { LineReporter } from "../progress.js";
import { datasetStats, formatDatasetStats } from "../../boards/dataset-stats.js";
import type { GameRow } from "../../boards/game-dataset.js";
import { othelloBsps, OTHELLO_PERSPECTIVES, type OthelloPerspective } from "../../boards/othello/bsp.js";
import { squareName } from "../../boards/othello/squares.js";
import { boardGrid, bspSummary } from "../../boards/position-text.js";

export class GameNotFoundError extends Error {
  constructor(dataset: string, game: string, count: number) {
    super(`${dataset}: no game "${game}" (give a game_id or an index 0..${count - 1})`);
    this.name = "GameNotFoundError";
  }
}

function findGame(dataset: string, rows: GameRow[], game: string): GameRow {
  const byId = rows.find((row) => row.gameId === game);
  if (byId) return byId;
  const index = /^\d+$/.test(game) ? Number(game) : NaN;
  if (Number.isInteger(index) && index < rows.length) return rows[index];
  throw new GameNotFoundError(dataset, game, rows.length);
}

function checkMove(row: GameRow, positions: number, move: number): void {
  if (!Number.isInteger(move) || move < 0 || move >= positions) {
    throw new RangeError(`game ${row.gameId}: --move ${move} is outside 0..${positions - 1}`);
  }
}

/** The board after move k of an Othello game (X black, O white) and every BSP at that position. */
export function showOthelloPosition(row: Extract<GameRow, { game: "othello" }>, move: number, perspective: OthelloPerspective): string {
  checkMove(row, row.length, move);
  const tables = othelloBsps(row.moves, { perspective, gameId: row.gameId });
  const layout = { rowLabels: "abcdefgh".split(""), colLabels: "12345678".split(""), topRowLast: false };
  return [
    `${row.gameId}: after move ${move} (${squareName(row.moves[move])}) of ${row.length}, ${row.result} wins (${row.split})`,
    bspSummary(tables.values(), move, layout),
  ].join("\n");
}

/** The board seen at character `position` of a chess game and its board BSPs. */
export function showChessPosition(row: Extract<GameRow, { game: "chess" }>, position: number): string {
  checkMove(row, row.moves.length, position);
  const tables: BspTable[] = [
    ...chessBoardBspTables(row.moves, undefined, position + 1),
    ...chessStrategyBspTables(row.moves, position + 1),
  ];
  const piece = tables.find((table) => table.fn === chessPiece)!;
  const layout = { rowLabels: "12345678".split(""), colLabels: "abcdefgh".split(""), topRowLast: true };
  const context = row.moves.slice(Math.max(0, position - 20), position + 1);
  return [
    `${row.gameId}: character ${position} ("…${context}"), ${row.result} (${row.split})`,
    boardGrid(piece, position, ["k", "q", "r", "b", "n", "p", ".", "P", "N", "B", "R", "Q", "K"], layout),
    bspSummary(tables.filter((table) => table.fn !== chessPiece), position, layout),
  ].join("\n");
}

/** Writes a dataset into a temporary sibling directory, then renames it to `out`: no partial dataset is ever left. */
async function writeDatasetAtomically(
  out: string,
  slice: Record<string, unknown>,
  source: string,
  options: Pick<GameSourceOptions, "onSkip"> = {},
): Promise<void> {
  const config = parseConfigWith(gameSourceConfigSchema, slice, source);
  if (existsSync(out)) throw new Error(`${out} already exists; choose a new --out directory`);
  const reporter = new LineReporter((line) => process.stderr.write(line + "\n"), 2000);
  reporter.emit({ type: "stage-start", stage: "games", key: path.basename(out), resumed: false });
  const started = Date.now();
  const generated = await generateGames(config, {
    ...options,
    onProgress: (done, total) => reporter.emit({ type: "progress", stage: "games", done, total, unit: "games" }),
  });
  const temporary = `${out}.${process.pid}.tmp`;
  await rm(temporary, { recursive: true, force: true });
  let manifest: DatasetManifest;
  try {
    manifest = await writeDatasetDirectory(temporary, generated.game, generated.rows, {
      ...config,
      ...(generated.importStats ? { importStats: generated.importStats } : {}),
    });
    await rename(temporary, out);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true }); // a failed write leaves nothing behind
    throw error;
  }
  reporter.emit({ type: "stage-end", stage: "games", key: path.basename(out), seconds: (Date.now() - started) / 1000, metrics: {} });
  process.stdout.write(`${out}: ${generated.rows.length} games (train ${manifest.counts.train}, val ${manifest.counts.val}, test ${manifest.counts.test})\n`);
  if (generated.importStats) {
    const skipped = Object.entries(generated.importStats.skipped).filter(([, count]) => count > 0);
    process.stdout.write(`read ${generated.importStats.read}, kept ${generated.importStats.kept}` +
      (skipped.length > 0 ? `, skipped ${skipped.map(([reason, count]) => `${reason} ${count}`).join(", ")}` : "") + "\n");
  }
}

/** A commander parser for an integer option that refuses anything else, naming the option. */
export function addGamesCommands(group: Command): void {
  group
    .command("generate")
    .description("generate a game dataset directory: Othello or chess random games, or chess engine self-play")
    .requiredOption("--out <dir>", "dataset directory to create")
    .option("--game <game>", "othello | chess", "othello")
    .option("--source <source>", "random | engine (chess)", "random")
    .option("--count <n>", "games", integerOption("--count"))
    .option("--seed <n>", "dataset seed", integerOption("--seed"), 0)
    .option("--set <key=value>", "any other field of the source's config (repeatable), e.g. --set depth=4", collectSetting, {})
    .action(async (options: { out: string; game: string; source: string; count?: number; seed: number; set: Record<string, unknown> }) => {
      const slice = { game: options.game, source: options.source, seed: options.seed, ...(options.count !== undefined ? { count: options.count } : {}), ...options.set };
      await writeDatasetAtomically(options.out, slice, "saec games generate");
    });

  group
    .command("import")
    .description("import PGN files (.pgn, .pgn.gz, .pgn.zst; Lichess dumps) into a chess dataset directory, streamed")
    .argument("<files...>", "PGN files, read in order")
    .requiredOption("--out <dir>", "dataset directory to create")
    .option("--min-plies <n>", "skip shorter games", integerOption("--min-plies"))
    .option("--max-plies <n>", "skip longer games", integerOption("--max-plies"))
    .option("--min-elo <n>", "both players at least this Elo", integerOption("--min-elo"))
    .option("--max-elo <n>", "both players at most this Elo", integerOption("--max-elo"))
    .option("--results <results...>", "keep only these results (1-0 0-1 1/2-1/2 *)")
    .option("--max-games <n>", "stop after this many games", integerOption("--max-games"))
    .option("--set <key=value>", "any other field of the import config (repeatable)", collectSetting, {})
    .option("--verbose", "print every skipped game on stderr: file, line, game, headers, reason and move")
    .action(async (files: string[], options: Record<string, unknown> & { out: string; set: Record<string, unknown>; verbose?: boolean }) => {
      const filters = Object.fromEntries(
        ["minPlies", "maxPlies", "minElo", "maxElo", "results", "maxGames"].filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
      );
      const onSkip = (skip: PgnSkip) => void process.stderr.write(`skipped ${formatPgnSkip(skip)}\n`);
      const slice = { game: "chess", source: "pgn", files, ...filters, ...options.set };
      await writeDatasetAtomically(options.out, slice, "saec games import", options.verbose ? { onSkip } : {});
    });

  group
    .command("show")
    .description("print a game's board after a move (Othello) or at a character (chess) with its board-state properties")
    .argument("<dataset>", "game dataset directory (with manifest.json)")
    .argument("<game>", "game_id, or index in the dataset")
    .option("--move <k>", "Othello: move index; chess: character index", "0")
    .option("--perspective <mode>", `Othello "mine" perspective: ${OTHELLO_PERSPECTIVES.join(" | ")}`, "true-mover")
    .action(async (dataset: string, game: string, options: { move: string; perspective: string }) => {
      if (!(OTHELLO_PERSPECTIVES as readonly string[]).includes(options.perspective)) {
        throw new RangeError(`--perspective: expected ${OTHELLO_PERSPECTIVES.join(" or ")}, found "${options.perspective}"`);
      }
      const row = findGame(dataset, await readDatasetDirectory(dataset), game);
      const move = Number(options.move);
      const text =
        row.game === "othello"
          ? showOthelloPosition(row, move, options.perspective as OthelloPerspective)
          : showChessPosition(row, move);
      process.stdout.write(text + "\n");
    });

  group
    .command("stats")
    .description("games per split, source and result; length histogram; duplicate games")
    .argument("<dataset>", "game dataset directory (with manifest.json)")
    .option("--bin <n>", "length histogram bin width", "10")
    .action(async (dataset: string, options: { bin: string }) => {
      const binWidth = Number(options.bin);
      if (!Number.isInteger(binWidth) || binWidth < 1) throw new RangeError(`--bin: expected a positive integer, found "${options.bin}"`);
      process.stdout.write(formatDatasetStats(datasetStats(await readDatasetDirectory(dataset), binWidth)) + "\n");
    });
}
