// `saec games show|stats`: look inside a game dataset directory.

import type { Command } from "commander";
import type { BspTable } from "../../boards/bsp.js";
import { chessBoardBspTables, chessPiece } from "../../boards/chess/bsp.js";
import { chessStrategyBspTables } from "../../boards/chess/strategy-tables.js";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
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

export function addGamesCommands(group: Command): void {
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
