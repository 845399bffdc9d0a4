// A game dataset on disk (spec boards.md §4): one Parquet file per split in a directory, with a manifest.json
// (generator config, seed, counts, content hash) written last.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeJsonAtomic } from "../io/atomic-write.js";
import { readGameDataset, writeGameDataset, type GameKind, type GameRow, type ReadGameDatasetOptions } from "./game-dataset.js";
import { SPLITS, type Split } from "./splits.js";

export const DATASET_MANIFEST = "manifest.json";

export interface DatasetManifest {
  game: GameKind;
  /** What made the games: the generator or importer config, seed included. */
  generator: unknown;
  /** Games per split. */
  counts: Record<Split, number>;
  /** Parquet file per split, relative to the directory. */
  files: Record<Split, string>;
  /** SHA-256 over every game's id and moves in split order: equal datasets, equal hashes. */
  contentHash: string;
}

export class DatasetDirectoryError extends Error {
  constructor(dir: string, detail: string) {
    super(`${dir}: ${detail}`);
    this.name = "DatasetDirectoryError";
  }
}

function contentHash(rowsBySplit: Record<Split, readonly GameRow[]>): string {
  const hash = createHash("sha256");
  for (const split of SPLITS) {
    for (const row of rowsBySplit[split]) {
      hash.update(row.gameId).update("\0");
      hash.update(typeof row.moves === "string" ? row.moves : Buffer.from(row.moves.buffer, row.moves.byteOffset, row.moves.length));
      hash.update("\n");
    }
  }
  return hash.digest("hex");
}

/** Writes rows into `<dir>/<split>.parquet` files and the manifest (last, atomically). */
export async function writeDatasetDirectory(
  dir: string,
  game: GameKind,
  rows: readonly GameRow[],
  generator: unknown,
): Promise<DatasetManifest> {
  const rowsBySplit = Object.fromEntries(SPLITS.map((split) => [split, rows.filter((row) => row.split === split)])) as Record<
    Split,
    GameRow[]
  >;
  const files = Object.fromEntries(SPLITS.map((split) => [split, `${split}.parquet`])) as Record<Split, string>;
  for (const split of SPLITS) await writeGameDataset(path.join(dir, files[split]), rowsBySplit[split], { game });
  const manifest: DatasetManifest = {
    game,
    generator,
    counts: Object.fromEntries(SPLITS.map((split) => [split, rowsBySplit[split].length])) as Record<Split, number>,
    files,
    contentHash: contentHash(rowsBySplit),
  };
  await writeJsonAtomic(path.join(dir, DATASET_MANIFEST), manifest);
  return manifest;
}

export async function readDatasetManifest(dir: string): Promise<DatasetManifest> {
  const file = path.join(dir, DATASET_MANIFEST);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new DatasetDirectoryError(dir, `not a game dataset (no ${DATASET_MANIFEST}; it is written last, so an unfinished one has none)`);
  }
  try {
    return JSON.parse(text) as DatasetManifest;
  } catch (error) {
    throw new DatasetDirectoryError(dir, `${DATASET_MANIFEST} is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Rows of some splits (default all) of a dataset directory, in split order. A split file that is missing,
 * truncated or holds a bad game is a GameDatasetError naming that file.
 */
export async function readDatasetDirectory(
  dir: string,
  splits: readonly Split[] = SPLITS,
  options: ReadGameDatasetOptions = {},
): Promise<GameRow[]> {
  const manifest = await readDatasetManifest(dir);
  const rows: GameRow[] = [];
  for (const split of splits) {
    const file = manifest.files?.[split];
    if (typeof file !== "string") throw new DatasetDirectoryError(dir, `${DATASET_MANIFEST} names no file for split "${split}"`);
    const splitRows = await readGameDataset(path.join(dir, file), options);
    if (splitRows.length !== manifest.counts[split]) {
      throw new DatasetDirectoryError(dir, `${manifest.files[split]} holds ${splitRows.length} games, the manifest says ${manifest.counts[split]}`);
    }
    for (const row of splitRows) rows.push(row); // spread would overflow the stack on large splits
  }
  return rows;
}
