// The positions board metrics score and what is true there (spec board-metrics.md §1–2, boards.md §2.4): Othello
// every input token 0..58 (the activation at token i sees the board after move i), chess the first ≤ 20 `.` within
// the first 256 characters; the BSP truth at those positions; the evaluation game sets; the model's activations.

import { bspWidth, type BspFunction } from "../bsp.js";
import { chessBoardBspTables, chessPiece, chessPieceMasked, CHESS_BOARD_BSP_FUNCTIONS } from "../chess/bsp.js";
import { CHESS_SAE_CHARS, CHESS_SCORED_PER_GAME, chessDotCount, chessScoredPositions } from "../chess/scored-positions.js";
import { CHESS_STRATEGY_FUNCTIONS } from "../chess/strategy.js";
import { chessStrategyBspTables } from "../chess/strategy-tables.js";
import type { GameKind, GameRow } from "../game-dataset.js";
import { OTHELLO_BSP_FUNCTIONS, othelloBsps, othelloMine, othelloMineMasked, type OthelloPerspective } from "../othello/bsp.js";
import { batchActivations, cacheRowWidth, realPositions } from "../../data/activation-cache.js";
import type { Gpt } from "../../model/gpt.js";

/** Every BSP function of a game, in spec order: Othello boards.md §3.2; chess §3.4 board functions then the 14 strategy ones. */
export function boardFunctions(game: GameKind): readonly BspFunction[] {
  return game === "othello" ? OTHELLO_BSP_FUNCTIONS : [...CHESS_BOARD_BSP_FUNCTIONS, ...CHESS_STRATEGY_FUNCTIONS];
}

/** spec §6 aggregates: the "board" function (the paper's metric) of each game. */
export function boardFunctionOf(game: GameKind): BspFunction {
  return game === "othello" ? othelloMineMasked : chessPieceMasked;
}

/** spec §9 linear probe: the unmasked function a probe classifies (Othello mine, chess piece). */
export function probeFunctionOf(game: GameKind): BspFunction {
  return game === "othello" ? othelloMine : chessPiece;
}

/** BSP functions by id for `game`; an unknown id names the valid ones. */
export function boardFunctionsById(game: GameKind, ids: readonly string[]): BspFunction[] {
  const all = boardFunctions(game);
  return ids.map((id) => {
    const fn = all.find((candidate) => candidate.id === id);
    if (!fn) throw new RangeError(`${game} BSP function must be one of ${all.map((f) => f.id).join(", ")}, got "${id}"`);
    return fn;
  });
}

export interface ScoredPositionOptions {
  /** The model's context: Othello scores tokens < min(moves, n_ctx), chess dots < min(256, n_ctx). */
  nCtx: number;
  /** Othello mine/theirs perspective (default the true mover, spec §13). */
  perspective?: OthelloPerspective;
  /** Chess: scored dots per game (default 20). */
  scoredPerGame?: number;
}

/** Scored positions of some games, in game order then position order, with the truth of every requested function. */
export interface ScoredPositions {
  /** [rows] index of the position's game in the games given. */
  game: Int32Array;
  /** [rows] token index of the position within its game. */
  token: Int32Array;
  /** fn.id → [rows, bspWidth(fn)] 0/1. */
  truth: Map<string, Uint8Array>;
}

/** Token indices scored in one game (spec §2 table). */
export function scoredTokens(row: GameRow, options: ScoredPositionOptions): number[] {
  if (row.game === "othello") return Array.from({ length: Math.min(row.length, options.nCtx) }, (_, i) => i);
  return chessScoredPositions(row.moves, Math.min(CHESS_SAE_CHARS, options.nCtx), options.scoredPerGame ?? CHESS_SCORED_PER_GAME);
}

/** The scored positions of `games` and the truth of `fns` there (one replay per game). */
export function scoredPositions(games: readonly GameRow[], fns: readonly BspFunction[], options: ScoredPositionOptions): ScoredPositions {
  const perGame = games.map((row) => scoredTokens(row, options));
  const rows = perGame.reduce((sum, tokens) => sum + tokens.length, 0);
  const game = new Int32Array(rows);
  const token = new Int32Array(rows);
  const truth = new Map(fns.map((fn) => [fn.id, new Uint8Array(rows * bspWidth(fn))]));
  let row = 0;
  games.forEach((gameRow, g) => {
    const tokens = perGame[g];
    if (tokens.length === 0) return;
    const tables = gameTables(gameRow, fns, tokens[tokens.length - 1] + 1, options.perspective);
    for (const fn of fns) {
      const width = bspWidth(fn);
      const source = tables.get(fn.id)!;
      const target = truth.get(fn.id)!;
      tokens.forEach((t, i) => target.set(source.subarray(t * width, (t + 1) * width), (row + i) * width));
    }
    tokens.forEach((t, i) => {
      game[row + i] = g;
      token[row + i] = t;
    });
    row += tokens.length;
  });
  return { game, token, truth };
}

/** One game's tables of `fns` for its first `positions` token positions: fn.id → [positions, width]. */
function gameTables(row: GameRow, fns: readonly BspFunction[], positions: number, perspective?: OthelloPerspective): Map<string, Uint8Array> {
  const tables = new Map<string, Uint8Array>();
  if (row.game === "othello") {
    const ids = fns.map((fn) => fn.id);
    for (const [id, table] of othelloBsps(row.moves, { perspective, gameId: row.gameId }, ids)) tables.set(id, table.data);
    return tables;
  }
  const board = fns.filter((fn) => CHESS_BOARD_BSP_FUNCTIONS.includes(fn));
  chessBoardBspTables(row.moves, board, positions).forEach((table, i) => tables.set(board[i].id, table.data));
  if (fns.some((fn) => CHESS_STRATEGY_FUNCTIONS.includes(fn))) {
    for (const table of chessStrategyBspTables(row.moves, positions)) tables.set(table.fn.id, table.data);
  }
  for (const fn of fns) if (!tables.has(fn.id)) throw new RangeError(`BSP function "${fn.game}.${fn.id}" is not a ${row.game} function`);
  return tables;
}

export interface EvaluationSetOptions {
  /** Labelling ("train") games: the first of the split (default 1000). */
  labelGames?: number;
  /** Reconstruction ("test") games: the next, disjoint (default 1000). */
  reconGames?: number;
  /** Chess: games with fewer `.` in their first 256 characters are skipped (default 20, spec §2). */
  minDots?: number;
}

export class EvaluationSetError extends Error {
  constructor(readonly source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = "EvaluationSetError";
  }
}

/** spec §2: the labelling set then the disjoint reconstruction set, in file order (chess filtered by minDots). */
export function evaluationSets(
  games: readonly GameRow[],
  source: string,
  options: EvaluationSetOptions = {},
): { label: GameRow[]; recon: GameRow[] } {
  const labelGames = options.labelGames ?? 1000;
  const reconGames = options.reconGames ?? 1000;
  const minDots = options.minDots ?? CHESS_SCORED_PER_GAME;
  for (const [name, value] of Object.entries({ labelGames, reconGames, minDots })) {
    if (!Number.isInteger(value) || value < (name === "minDots" ? 0 : 1)) throw new EvaluationSetError(source, `${name} must be a positive integer, got ${value}`);
  }
  const usable = games.filter((row) => row.game === "othello" || chessDotCount(row.moves) >= minDots);
  if (usable.length < labelGames + reconGames) {
    const skipped = games.length - usable.length;
    throw new EvaluationSetError(
      source,
      `${usable.length} usable games${skipped ? ` (${skipped} with fewer than ${minDots} dots skipped)` : ""}, ` +
        `the evaluation needs ${labelGames} labelling + ${reconGames} reconstruction games: lower them or use a larger split`,
    );
  }
  return { label: usable.slice(0, labelGames), recon: usable.slice(labelGames, labelGames + reconGames) };
}

/**
 * The model's activations at `hooks` at the scored positions (rows aligned with `positions`), computed `batchGames`
 * games per model run: hook → [rows, d].
 */
export function scoredActivations(
  model: Gpt,
  games: readonly GameRow[],
  positions: ScoredPositions,
  hooks: readonly string[],
  batchGames = 32,
): Map<string, Float32Array> {
  const rows = positions.game.length;
  const out = new Map<string, Float32Array>();
  let row = 0;
  for (let start = 0; start < games.length; start += batchGames) {
    const batch = games.slice(start, start + batchGames);
    const activations = batchActivations(model, batch, hooks); // every real position, games in order
    const firstRow = new Int32Array(batch.length + 1); // game g of the batch owns rows firstRow[g]..firstRow[g+1]−1
    batch.forEach((game, g) => (firstRow[g + 1] = firstRow[g] + realPositions(model.config, game)));
    for (const hook of hooks) {
      const values = activations.activations.get(hook)!;
      const d = cacheRowWidth(model.config, hook);
      let target = out.get(hook);
      if (!target) out.set(hook, (target = new Float32Array(rows * d)));
      for (let r = row; r < rows && positions.game[r] < start + batch.length; r++) {
        const g = positions.game[r] - start;
        const source = firstRow[g] + positions.token[r];
        if (source >= firstRow[g + 1]) throw new RangeError(`scoredActivations: token ${positions.token[r]} of game ${batch[g].gameId} is beyond its real positions`);
        target.set(values.subarray(source * d, (source + 1) * d), r * d);
      }
    }
    while (row < rows && positions.game[row] < start + batch.length) row++;
  }
  return out;
}
