// Game datasets in Parquet (spec boards.md §4): one row per game, written as an Arrow table through parquet-wasm.

import { readFile } from "node:fs/promises";
import {
  DataType,
  Field,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  Table,
  tableFromIPC,
  tableToIPC,
  Uint8,
  Utf8,
  vectorFromArray,
  type Vector,
} from "apache-arrow";
import { readParquet, Table as WasmTable, writeParquet, Compression, WriterPropertiesBuilder } from "parquet-wasm";
import { z } from "zod";
import { writeFileAtomic } from "../io/atomic-write.js";
import { CHESS_VOCAB, CHESS_VOCAB_SIZE } from "./chess/tokenizer.js";
import { OthelloTranscriptError, replayOthello } from "./othello/replay.js";
import { squareName } from "./othello/squares.js";
import { OTHELLO_VOCAB_SIZE, tokenToSquare } from "./othello/tokenizer.js";
import { SPLITS, type Split } from "./splits.js";

export type GameKind = "othello" | "chess";

interface GameRowBase {
  /** `<dataset>-<shard>-<index>`. */
  gameId: string;
  /** Tokens of the game (Othello 1..60; chess char ids 0..31, optional). */
  tokens: Uint8Array | null;
  /** Number of moves (Othello) or plies (chess). */
  length: number;
  /** The game's PRNG seed; null for imported games. */
  seed: bigint | null;
  /** JSON text: `{}` for Othello, engine settings or kept PGN headers for chess. */
  meta: string;
  split: Split;
}

export interface OthelloGameRow extends GameRowBase {
  game: "othello";
  source: "random";
  /** Square ids 0..63 in play order, passes not represented. */
  moves: Uint8Array;
  tokens: Uint8Array;
  nChars: null;
  result: "black" | "white" | "draw" | "unfinished";
}

export interface ChessGameRow extends GameRowBase {
  game: "chess";
  source: "random" | "engine" | "pgn";
  /** Movetext `;1.e4 e5 …`, full game. */
  moves: string;
  nChars: number;
  result: "1-0" | "0-1" | "1/2-1/2" | "*";
}

export type GameRow = OthelloGameRow | ChessGameRow;

/** First part of `game_id` (a generator config's `datasetName`): no `-`, which separates the parts of the id. */
export const datasetNameSchema = z.string().regex(/^[A-Za-z0-9_.]+$/, "letters, digits, '_' and '.' only");

/** `game_id` of game `index` of a dataset: `<datasetName>-<shard>-<index in shard>`. */
export function gameId(datasetName: string, shardSize: number, index: number): string {
  const shard = Math.floor(index / shardSize);
  return `${datasetName}-${shard}-${index - shard * shardSize}`;
}

const RESULTS: Record<GameKind, readonly string[]> = {
  othello: ["black", "white", "draw", "unfinished"],
  chess: ["1-0", "0-1", "1/2-1/2", "*"],
};
const SOURCES: Record<GameKind, readonly string[]> = { othello: ["random"], chess: ["random", "engine", "pgn"] };

/** A dataset file that cannot be read as game rows: names the file, the column and, when known, the row and game. */
export class GameDatasetError extends Error {
  constructor(
    readonly file: string,
    readonly column: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: column "${column}": ${message}`, options);
    this.name = "GameDatasetError";
  }
}

// ---------------------------------------------------------------------------------------------------- writing

function byteListVector(lists: ReadonlyArray<Uint8Array | null>): Vector {
  const valueOffsets = new Int32Array(lists.length + 1);
  let total = 0;
  for (let i = 0; i < lists.length; i++) {
    total += lists[i]?.length ?? 0;
    valueOffsets[i + 1] = total;
  }
  const values = new Uint8Array(total);
  const validity = new Uint8Array(Math.ceil(lists.length / 8));
  let nullCount = 0;
  lists.forEach((list, i) => {
    if (list === null) nullCount++;
    else {
      values.set(list, valueOffsets[i]);
      validity[i >> 3] |= 1 << (i & 7);
    }
  });
  const child = makeData({ type: new Uint8(), length: total, data: values });
  const type = new List(new Field("item", new Uint8(), false));
  return makeVector(
    makeData({ type, length: lists.length, nullCount, nullBitmap: nullCount > 0 ? validity : null, valueOffsets, child }),
  );
}

/** Utf8 column from one encoded buffer (arrow's builder is ~5× slower on millions of short strings). */
function utf8Vector(strings: readonly string[]): Vector {
  const valueOffsets = new Int32Array(strings.length + 1);
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    total += Buffer.byteLength(strings[i]);
    valueOffsets[i + 1] = total;
  }
  const values = Buffer.allocUnsafe(total);
  for (let i = 0; i < strings.length; i++) values.write(strings[i], valueOffsets[i]);
  return makeVector(makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets, data: values }));
}

function gameTable(rows: readonly GameRow[], game: GameKind): Table {
  for (const [index, row] of rows.entries()) {
    if (row.game !== game) {
      throw new RangeError(`writeGameDataset: row ${index} (${row.gameId}) is a ${row.game} game in a ${game} dataset`);
    }
  }
  const strings = (pick: (row: GameRow) => string) => utf8Vector(rows.map(pick));
  const moves =
    game === "othello"
      ? byteListVector(rows.map((row) => row.moves as Uint8Array))
      : strings((row) => row.moves as string);
  return new Table({
    game_id: strings((row) => row.gameId),
    game: strings((row) => row.game),
    source: strings((row) => row.source),
    moves,
    tokens: byteListVector(rows.map((row) => row.tokens)),
    length: vectorFromArray(Int32Array.from(rows, (row) => row.length)),
    n_chars: vectorFromArray(rows.map((row) => row.nChars), new Int32()),
    result: strings((row) => row.result),
    seed: vectorFromArray(rows.map((row) => row.seed), new Int64()),
    meta: strings((row) => row.meta),
    split: strings((row) => row.split),
  });
}

/**
 * Writes rows (all of one game kind) as a zstd Parquet file, atomically. An empty file needs `game` to fix the
 * type of the `moves` column.
 */
export async function writeGameDataset(
  file: string,
  rows: readonly GameRow[],
  options: { game?: GameKind } = {},
): Promise<void> {
  const game = options.game ?? rows[0]?.game;
  if (game === undefined) {
    throw new RangeError(`writeGameDataset: ${file}: no rows, so options.game must say the game kind`);
  }
  const ipc = tableToIPC(gameTable(rows, game), "stream");
  const properties = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
  const parquet = writeParquet(WasmTable.fromIPCStream(ipc), properties);
  await writeFileAtomic(file, parquet);
}

// ---------------------------------------------------------------------------------------------------- reading

type ColumnKind = "string" | "int32" | "int64" | "bytes";
const COLUMNS: ReadonlyArray<{ name: string; kind: ColumnKind | "moves"; nullable: boolean }> = [
  { name: "game_id", kind: "string", nullable: false },
  { name: "game", kind: "string", nullable: false },
  { name: "source", kind: "string", nullable: false },
  { name: "moves", kind: "moves", nullable: false },
  { name: "tokens", kind: "bytes", nullable: true },
  { name: "length", kind: "int32", nullable: false },
  { name: "n_chars", kind: "int32", nullable: true },
  { name: "result", kind: "string", nullable: false },
  { name: "seed", kind: "int64", nullable: true },
  { name: "meta", kind: "string", nullable: false },
  { name: "split", kind: "string", nullable: false },
];

function hasKind(type: DataType, kind: ColumnKind): boolean {
  switch (kind) {
    case "string": // dictionary-encoded strings come from other writers (pyarrow, arrow-js tableFromArrays)
      if (DataType.isDictionary(type)) return hasKind(type.dictionary, "string");
      return DataType.isUtf8(type) || DataType.isLargeUtf8(type);
    case "int32":
      return DataType.isInt(type) && type.bitWidth === 32 && type.isSigned;
    case "int64":
      return DataType.isInt(type) && type.bitWidth === 64 && type.isSigned;
    case "bytes": {
      const item = DataType.isList(type) ? type.children[0].type : undefined;
      return item !== undefined && DataType.isInt(item) && item.bitWidth === 8 && !item.isSigned;
    }
  }
}

const KIND_NAMES: Record<ColumnKind, string> = { string: "utf8", int32: "int32", int64: "int64", bytes: "list<uint8>" };

/** A column's values as a plain array, nulls included (iterating is much faster than get(i) per row). */
function valuesOf<T>(vector: Vector): T[] {
  return Array.from(vector as Iterable<T>);
}

/** Each row's byte list (null where the row is null); values are views into the decoded table. */
function byteLists(vector: Vector): Array<Uint8Array | null> {
  const lists: Array<Uint8Array | null> = [];
  for (const data of vector.data) {
    if (data.length === 0) continue;
    const child = data.children[0];
    const direct = data.offset === 0 && child.offset === 0;
    for (let i = 0; i < data.length; i++) {
      if (!data.getValid(i)) lists.push(null);
      else if (direct) lists.push((child.values as Uint8Array).subarray(data.valueOffsets[i], data.valueOffsets[i + 1]));
      else lists.push((vector.get(lists.length) as Vector).toArray() as Uint8Array);
    }
  }
  return lists;
}

export interface ReadGameDatasetOptions {
  /** Replay every Othello game (spec §1.2, strict); on by default, it about doubles the time to read a file. */
  checkOthelloMoves?: boolean;
}

/**
 * Reads a file written by writeGameDataset; an unreadable or truncated file, a missing or mistyped column or an
 * invalid value (a stored token that disagrees with its move, an illegal Othello move) is a GameDatasetError.
 */
export async function readGameDataset(file: string, options: ReadGameDatasetOptions = {}): Promise<GameRow[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new GameDatasetError(file, "*", `cannot read the file (${(error as Error).message ?? error})`, { cause: error });
  }
  let table: Table;
  try {
    table = tableFromIPC(readParquet(bytes).intoIPCStream());
  } catch (error) {
    throw new GameDatasetError(file, "*", `not a readable Parquet file (${(error as Error).message ?? error})`, { cause: error });
  }
  const columns: Record<string, Vector> = {};
  for (const { name, kind, nullable } of COLUMNS) {
    const vector = table.getChild(name);
    if (vector === null) throw new GameDatasetError(file, name, "missing");
    const expected: ColumnKind[] = kind === "moves" ? ["bytes", "string"] : [kind];
    if (!expected.some((k) => hasKind(vector.type, k))) {
      const names = expected.map((k) => KIND_NAMES[k]).join(" or ");
      throw new GameDatasetError(file, name, `type ${vector.type} is not ${names}`);
    }
    if (!nullable && vector.nullCount > 0) throw new GameDatasetError(file, name, `${vector.nullCount} null values`);
    columns[name] = vector;
  }
  const othelloMoves = DataType.isList(columns.moves.type);
  const kind: GameKind = othelloMoves ? "othello" : "chess";
  const moves = othelloMoves ? byteLists(columns.moves) : valuesOf<string>(columns.moves);
  const tokens = byteLists(columns.tokens);
  const [gameIds, games, sources, results, metas, splits] = ["game_id", "game", "source", "result", "meta", "split"].map(
    (name) => valuesOf<string>(columns[name]),
  );
  const lengths = valuesOf<number>(columns.length);
  const nChars = valuesOf<number | null>(columns.n_chars);
  const seeds = valuesOf<bigint | null>(columns.seed);
  const checkOthelloMoves = options.checkOthelloMoves ?? true;
  const rows: GameRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const fail = (column: string, message: string, cause?: unknown): never => {
      throw new GameDatasetError(file, column, `row ${i}, game ${gameIds[i]}: ${message}`, cause === undefined ? undefined : { cause });
    };
    if (games[i] !== kind) fail("game", `"${games[i]}" does not match the type of column moves (${kind})`);
    if (!SOURCES[kind].includes(sources[i])) fail("source", `"${sources[i]}" is not a ${kind} source`);
    if (!RESULTS[kind].includes(results[i])) fail("result", `"${results[i]}" is not a ${kind} result`);
    if (!SPLITS.includes(splits[i] as Split)) fail("split", `"${splits[i]}" is not one of ${SPLITS.join(", ")}`);
    if (othelloMoves) {
      const gameMoves = moves[i] as Uint8Array;
      const gameTokens = tokens[i];
      if (lengths[i] !== gameMoves.length) fail("length", `${lengths[i]} but the game has ${gameMoves.length} moves`);
      if (gameTokens === null || gameTokens.length !== gameMoves.length) fail("tokens", "must hold one token per move");
      for (let move = 0; move < gameMoves.length; move++) {
        const square = gameMoves[move];
        const token = gameTokens![move];
        if (square > 63) fail("moves", `move ${move}: square id ${square} above 63`);
        if (token < 1 || token >= OTHELLO_VOCAB_SIZE) fail("tokens", `position ${move}: token ${token} is not an Othello move token (1..60)`);
        if (tokenToSquare(token) !== square) {
          fail("tokens", `position ${move}: token ${token} is ${squareName(tokenToSquare(token))} but move ${move} is ${squareName(square)}`);
        }
      }
      if (checkOthelloMoves) {
        try {
          replayOthello(gameMoves, gameIds[i]);
        } catch (error) {
          if (!(error instanceof OthelloTranscriptError)) throw error;
          fail("moves", `move ${error.moveIndex}: ${error.reason}`, error);
        }
      }
      rows.push({
        gameId: gameIds[i],
        game: "othello",
        source: "random",
        moves: gameMoves,
        tokens: gameTokens!,
        length: lengths[i],
        nChars: null,
        result: results[i] as OthelloGameRow["result"],
        seed: seeds[i],
        meta: metas[i],
        split: splits[i] as Split,
      });
    } else {
      const text = moves[i] as string;
      const gameTokens = tokens[i];
      if (nChars[i] !== text.length) fail("n_chars", `${nChars[i]} but moves has ${text.length} characters`);
      // stored ids may be a prefix of the movetext (a truncated context), never anything else
      if (gameTokens !== null && gameTokens.length > text.length) fail("tokens", `${gameTokens.length} ids for ${text.length} characters`);
      for (let position = 0; position < (gameTokens?.length ?? 0); position++) {
        const id = gameTokens![position];
        if (id >= CHESS_VOCAB_SIZE) fail("tokens", `position ${position}: id ${id} is not a chess character id (0..31)`);
        if (CHESS_VOCAB[id] !== text[position]) {
          fail("tokens", `position ${position}: id ${id} is ${JSON.stringify(CHESS_VOCAB[id])} but moves has ${JSON.stringify(text[position])}`);
        }
      }
      rows.push({
        gameId: gameIds[i],
        game: "chess",
        source: sources[i] as ChessGameRow["source"],
        moves: text,
        tokens: gameTokens,
        length: lengths[i],
        nChars: text.length,
        result: results[i] as ChessGameRow["result"],
        seed: seeds[i],
        meta: metas[i],
        split: splits[i] as Split,
      });
    }
  }
  return rows;
}
