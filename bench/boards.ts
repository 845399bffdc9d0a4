// The boards benchmark: game generation (Othello random, chess random and engine self-play), PGN import, BSP
// computation and the Parquet game datasets, each as a rate with its unit, on this machine in one run.

import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { bspWidth, emptyBspTable } from "../boards/bsp.js";
import { CHESS_BOARD_BSP_FUNCTIONS, chessBoardBspTables } from "../boards/chess/bsp.js";
import { generateEngineGames } from "../boards/chess/engine-games.js";
import { emptyPgnImportStats, importPgnGames } from "../boards/chess/pgn-import.js";
import { generateRandomChessGames } from "../boards/chess/random-games.js";
import { CHESS_STRATEGY_FUNCTIONS } from "../boards/chess/strategy.js";
import { chessStrategyBspTables } from "../boards/chess/strategy-tables.js";
import { resolveEngineBinary } from "../boards/chess/uci-engine.js";
import { readGameDataset, writeGameDataset, type ChessGameRow, type OthelloGameRow } from "../boards/game-dataset.js";
import { OTHELLO_BSP_FUNCTIONS, othelloBsps, othelloBspsInto } from "../boards/othello/bsp.js";
import { generateOthelloGames } from "../boards/othello/generate.js";
import { generateOthelloShard, type OthelloShard } from "../boards/othello/random-games.js";
import { MAX_GAME_MOVES } from "../boards/othello/tokenizer.js";
import { xoshiro128 } from "../boards/random.js";
import { DEFAULT_SPLIT_FRACTIONS } from "../boards/splits.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write.js";
import { benchMachine, machineLine, type BenchMachine } from "./machine.js";
import { formatBenchPgnGame } from "./synthetic-pgn.js";

export interface BoardsBenchOptions {
  /** Othello games for generateOthelloGames with 1 worker and for the bare game loop. */
  othelloGames: number;
  /** Othello games for generateOthelloGames on every core; these rows are also the Parquet rows. */
  othelloParallelGames: number;
  /** Random chess games (default generator config): their rate, the PGN file's games and the chess BSP games. */
  chessGames: number;
  /** Engine self-play games per engine count, at `engineDepth`. */
  engineGames: number;
  engineDepth: number;
  /** Games in the synthetic PGN file (the random chess games in turn, each with its own headers). */
  pgnGames: number;
  /** Othello games whose five BSP tables are computed. */
  othelloBspGames: number;
  /** Games per batch of othelloBspsInto tables. */
  othelloBspBatchGames: number;
  /** Characters of each chess game the chess BSPs cover (the SAE context, spec boards.md §2.2). */
  chessBspCharacters: number;
  /** Where the JSON results go. */
  outputFile: string;
}

export function defaultBoardsBenchOptions(): BoardsBenchOptions {
  return {
    othelloGames: 100_000,
    othelloParallelGames: 200_000,
    chessGames: 300,
    engineGames: 12,
    engineDepth: 6,
    pgnGames: 600,
    othelloBspGames: 10_000,
    othelloBspBatchGames: 1_000,
    chessBspCharacters: 256,
    outputFile: path.join(process.cwd(), ".bench", "boards.json"),
  };
}

/** One measured rate: `count` units of work in `seconds`. */
export interface BoardsRate {
  group: "othello" | "chess" | "engine" | "pgn" | "bsp" | "parquet";
  label: string;
  rate: number;
  unit: string;
  count: number;
  seconds: number;
  /** Context printed next to the rate: per-core rate and target, a second unit, sizes. */
  note?: string;
}

export interface BoardsBenchResults {
  date: string;
  machine: BenchMachine;
  options: Omit<BoardsBenchOptions, "outputFile">;
  /** The Othello worker pool runs the built generate-worker.js only when the bench runs from dist/. */
  fromSources: boolean;
  rates: BoardsRate[];
  unavailable: { label: string; reason: string }[];
}

/** The issue's target for Othello random game generation. */
export const OTHELLO_TARGET_GAMES_PER_CORE = 20_000;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function timed<T>(work: () => T | Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - start) / 1000 };
}

function formatRate(rate: number): string {
  if (rate >= 100) return Math.round(rate).toLocaleString("en-US");
  return rate.toFixed(rate >= 10 ? 1 : 2);
}

class RateLog {
  readonly rates: BoardsRate[] = [];
  add(entry: Omit<BoardsRate, "rate">): BoardsRate {
    const rate = { ...entry, rate: entry.count / entry.seconds };
    this.rates.push(rate);
    log(`  ${rate.label}: ${formatRate(rate.rate)} ${rate.unit}${rate.note ? ` (${rate.note})` : ""}`);
    return rate;
  }
}

function perCoreNote(gamesPerSecond: number, workers: number): string {
  const perCore = gamesPerSecond / workers;
  const verdict = perCore >= OTHELLO_TARGET_GAMES_PER_CORE ? "meets" : "below";
  return `${formatRate(perCore)} games/s per core; target ≥ ${OTHELLO_TARGET_GAMES_PER_CORE.toLocaleString("en-US")}: ${verdict}`;
}

async function benchOthelloGeneration(options: BoardsBenchOptions, rates: RateLog): Promise<{ shard: OthelloShard; rows: OthelloGameRow[] }> {
  const task = { datasetSeed: 0, start: 0, count: options.othelloGames, splits: DEFAULT_SPLIT_FRACTIONS };
  generateOthelloShard({ ...task, datasetSeed: 1, count: 5_000 }); // warm-up: compile the game loop first
  const loop = await timed(() => generateOthelloShard(task));
  const moves = loop.value.moves.length;
  rates.add({
    group: "othello",
    label: "Othello game loop alone (generateOthelloShard, 1 thread)",
    unit: "games/s",
    count: options.othelloGames,
    seconds: loop.seconds,
    note: `${formatRate(moves / loop.seconds)} moves/s; ${perCoreNote(options.othelloGames / loop.seconds, 1)}`,
  });
  const single = await timed(() => generateOthelloGames({ count: options.othelloGames, seed: 0, workers: 1 }));
  rates.add({
    group: "othello",
    label: "Othello random games (generateOthelloGames, 1 worker)",
    unit: "games/s",
    count: single.value.length,
    seconds: single.seconds,
    note: perCoreNote(single.value.length / single.seconds, 1),
  });
  const workers = os.availableParallelism();
  const parallel = await timed(() => generateOthelloGames({ count: options.othelloParallelGames, seed: 0, workers }));
  rates.add({
    group: "othello",
    label: `Othello random games (generateOthelloGames, ${workers} workers)`,
    unit: "games/s",
    count: parallel.value.length,
    seconds: parallel.seconds,
    note: `${perCoreNote(parallel.value.length / parallel.seconds, workers)}; pool start-up included`,
  });
  return { shard: loop.value, rows: parallel.value };
}

function benchChessRandom(options: BoardsBenchOptions, rates: RateLog): ChessGameRow[] {
  generateRandomChessGames({ count: 5, seed: 1 }); // warm-up
  const start = performance.now();
  const rows = generateRandomChessGames({ count: options.chessGames });
  const seconds = (performance.now() - start) / 1000;
  const plies = rows.reduce((sum, row) => sum + row.length, 0);
  rates.add({ group: "chess", label: "Chess random games (generateRandomChessGames)", unit: "games/s", count: rows.length, seconds });
  rates.add({
    group: "chess",
    label: "Chess random games, plies",
    unit: "plies/s",
    count: plies,
    seconds,
    note: `${(plies / rows.length).toFixed(1)} plies a game (default limits)`,
  });
  return rows;
}

async function benchEngineGames(options: BoardsBenchOptions, rates: RateLog, unavailable: BoardsBenchResults["unavailable"]): Promise<void> {
  const label = `Chess engine self-play (generateEngineGames, depth ${options.engineDepth})`;
  let binary: string;
  try {
    binary = resolveEngineBinary("stockfish");
  } catch {
    log(`  ${label}: unavailable: no UCI engine`);
    unavailable.push({ label, reason: "no UCI engine" });
    return;
  }
  const movetexts: string[][] = [];
  for (const engines of [1, 2]) {
    // one game a shard, so two engines share the work; depth-limited games do not depend on the engine count
    const config = { count: options.engineGames, depth: options.engineDepth, binary, shardSize: 1 };
    const cpuBefore = process.cpuUsage(); // the SAN bookkeeping runs in this process, the search in the engines
    const { value: rows, seconds } = await timed(async () => {
      const played: ChessGameRow[] = [];
      for await (const row of generateEngineGames(config, { engines })) played.push(row);
      return played;
    });
    const cpu = process.cpuUsage(cpuBefore);
    const busy = (cpu.user + cpu.system) / 1e6 / seconds;
    movetexts.push(rows.map((row) => row.moves));
    const plies = rows.reduce((sum, row) => sum + row.length, 0);
    rates.add({
      group: "engine",
      label: `${label}, ${engines} engine${engines > 1 ? "s" : ""}`,
      unit: "games/s",
      count: rows.length,
      seconds,
      note: `${formatRate(plies / seconds)} plies/s, ${(plies / rows.length).toFixed(0)} plies a game; Node busy ${(busy * 100).toFixed(0)} % of the time; engine start-up included`,
    });
  }
  if (movetexts[0].join("\n") !== movetexts[1].join("\n")) throw new Error(`${label}: 1 and 2 engines played different games`);
}

async function benchPgnImport(options: BoardsBenchOptions, chessRows: ChessGameRow[], rates: RateLog, directory: string): Promise<void> {
  const random = xoshiro128(0, 0);
  const games: string[] = [];
  for (let i = 0; i < options.pgnGames; i++) games.push(formatBenchPgnGame(chessRows[i % chessRows.length], i, random));
  const text = Buffer.from(games.join(""));
  const plain = path.join(directory, "bench.pgn");
  const gzip = path.join(directory, "bench.pgn.gz");
  await writeFileAtomic(plain, text);
  await writeFileAtomic(gzip, gzipSync(text));
  const megabytes = text.length / 1e6;
  for (const [kind, file] of [["plain", plain], ["gzip", gzip]] as const) {
    const stats = emptyPgnImportStats();
    const { value: plies, seconds } = await timed(async () => {
      let total = 0;
      for await (const row of importPgnGames({ files: [file] }, { stats })) {
        const source = chessRows[(stats.read - 1) % chessRows.length];
        if (row.moves !== source.moves) throw new Error(`PGN import: game ${stats.read} of ${file} does not read back as written`);
        total += row.length;
      }
      return total;
    });
    const fileMegabytes = (await stat(file)).size / 1e6;
    rates.add({
      group: "pgn",
      label: `PGN import (importPgnGames, ${kind})`,
      unit: "plies/s",
      count: plies,
      seconds,
      note:
        `${(megabytes / seconds).toFixed(2)} MB/s of PGN text; ${stats.kept} of ${stats.read} games kept, ` +
        `${megabytes.toFixed(1)} MB text, ${fileMegabytes.toFixed(1)} MB file`,
    });
  }
}

function benchOthelloBsps(options: BoardsBenchOptions, shard: OthelloShard, rates: RateLog): void {
  const games = Math.min(options.othelloBspGames, shard.lengths.length);
  const offsets = new Uint32Array(games + 1);
  for (let i = 0; i < games; i++) offsets[i + 1] = offsets[i] + shard.lengths[i];
  const positions = offsets[games];
  const gameMoves = (i: number) => shard.moves.subarray(offsets[i], offsets[i + 1]);
  // one table per function reused batch after batch, as a metrics reader would (all 10k games at once is ~0.4 GB)
  const batchGames = options.othelloBspBatchGames;
  const tables = OTHELLO_BSP_FUNCTIONS.map((fn) => emptyBspTable(fn, batchGames * MAX_GAME_MOVES));
  const fillBatches = (gameCount: number) => {
    for (let first = 0; first < gameCount; first += batchGames) {
      for (let i = first; i < Math.min(first + batchGames, gameCount); i++) othelloBspsInto(gameMoves(i), tables, offsets[i] - offsets[first]);
    }
  };
  fillBatches(Math.min(games, 200)); // warm-up
  let start = performance.now();
  fillBatches(games);
  const megabytes = tables.reduce((sum, table) => sum + table.data.length, 0) / 1e6;
  rates.add({
    group: "bsp",
    label: `Othello BSPs, all ${OTHELLO_BSP_FUNCTIONS.length} functions into batch tables (othelloBspsInto)`,
    unit: "positions/s",
    count: positions,
    seconds: (performance.now() - start) / 1000,
    note: `${games.toLocaleString("en-US")} games in batches of ${batchGames.toLocaleString("en-US")} (${megabytes.toFixed(0)} MB of tables)`,
  });
  start = performance.now();
  for (let i = 0; i < games; i++) othelloBsps(gameMoves(i));
  rates.add({
    group: "bsp",
    label: `Othello BSPs, all ${OTHELLO_BSP_FUNCTIONS.length} functions, new tables per game (othelloBsps)`,
    unit: "positions/s",
    count: positions,
    seconds: (performance.now() - start) / 1000,
    note: `the same ${games.toLocaleString("en-US")} games`,
  });
}

function benchChessBsps(options: BoardsBenchOptions, chessRows: ChessGameRow[], rates: RateLog): void {
  const characters = options.chessBspCharacters;
  const movetexts = chessRows.map((row) => row.moves);
  const cases = [
    { label: `Chess board BSPs, ${CHESS_BOARD_BSP_FUNCTIONS.length} functions (chessBoardBspTables)`, compute: (m: string) => chessBoardBspTables(m, CHESS_BOARD_BSP_FUNCTIONS, characters) },
    { label: `Chess strategy BSPs, ${CHESS_STRATEGY_FUNCTIONS.length} functions (chessStrategyBspTables)`, compute: (m: string) => chessStrategyBspTables(m, characters) },
  ];
  for (const { label, compute } of cases) {
    for (const movetext of movetexts.slice(0, 5)) compute(movetext); // warm-up
    const start = performance.now();
    let positions = 0;
    let entries = 0;
    for (const movetext of movetexts) {
      const tables = compute(movetext);
      positions += tables[0].positions;
      entries += tables.reduce((sum, table) => sum + table.positions * bspWidth(table.fn), 0);
    }
    rates.add({
      group: "bsp",
      label,
      unit: "positions/s",
      count: positions,
      seconds: (performance.now() - start) / 1000,
      note: `first ${characters} characters of ${movetexts.length} random games; ${(entries / positions).toFixed(0)} entries a position`,
    });
  }
}

async function benchParquet(rows: OthelloGameRow[], rates: RateLog, directory: string): Promise<void> {
  const file = path.join(directory, "othello.parquet");
  const write = await timed(() => writeGameDataset(file, rows));
  const megabytes = (await stat(file)).size / 1e6;
  rates.add({
    group: "parquet",
    label: "Othello Parquet write (writeGameDataset, zstd)",
    unit: "games/s",
    count: rows.length,
    seconds: write.seconds,
    note: `${rows.length.toLocaleString("en-US")} rows, ${megabytes.toFixed(1)} MB file`,
  });
  const read = await timed(() => readGameDataset(file));
  if (read.value.length !== rows.length) throw new Error(`Parquet read back ${read.value.length} rows of ${rows.length} written`);
  rates.add({ group: "parquet", label: "Othello Parquet read (readGameDataset)", unit: "games/s", count: rows.length, seconds: read.seconds });
}

export async function runBoardsBenchmark(options = defaultBoardsBenchOptions()): Promise<BoardsBenchResults> {
  const loadAverage = os.loadavg(); // other work on the machine slows every rate below
  const rates = new RateLog();
  const unavailable: BoardsBenchResults["unavailable"] = [];
  const directory = await mkdtemp(path.join(os.tmpdir(), "saec-bench-boards-"));
  try {
    log("  Othello generation");
    const othello = await benchOthelloGeneration(options, rates);
    log("  chess random games");
    const chessRows = benchChessRandom(options, rates);
    log("  chess engine games");
    await benchEngineGames(options, rates, unavailable);
    log("  PGN import");
    await benchPgnImport(options, chessRows, rates, directory);
    log("  BSPs");
    benchOthelloBsps(options, othello.shard, rates);
    benchChessBsps(options, chessRows, rates);
    log("  Parquet");
    await benchParquet(othello.rows, rates, directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  const { outputFile, ...recorded } = options;
  const results: BoardsBenchResults = {
    date: new Date().toISOString(),
    machine: benchMachine(loadAverage),
    options: recorded,
    fromSources: import.meta.url.endsWith(".ts"),
    rates: rates.rates,
    unavailable,
  };
  await writeJsonAtomic(outputFile, results);
  log(`results written to ${outputFile}`);
  return results;
}

/** The results as a Markdown table, ready to paste into the README. */
export function boardsBenchMarkdown(results: BoardsBenchResults): string {
  const lines = [
    machineLine(results.machine, results.date),
    "",
    "| measurement | rate | unit | notes |",
    "|---|---:|---|---|",
  ];
  for (const rate of results.rates) lines.push(`| ${rate.label} | ${formatRate(rate.rate)} | ${rate.unit} | ${rate.note ?? ""} |`);
  for (const { label, reason } of results.unavailable) lines.push(`| ${label} | – | | unavailable: ${reason} |`);
  if (results.fromSources) lines.push("", "Run from the TypeScript sources: the Othello workers loaded generate-worker.ts through tsx.");
  return lines.join("\n");
}

/** `bench boards`: measure, write .bench/boards.json, print the Markdown table. */
export async function boardsBench(): Promise<void> {
  const results = await runBoardsBenchmark();
  process.stdout.write(`${boardsBenchMarkdown(results)}\n`);
}
