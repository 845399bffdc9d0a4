// Export of an activation cache to Parquet (parquet-wasm), one file per hook, for readers without Arrow IPC
// (DuckDB, pandas): columns activation FixedSizeList<Float32>[d] (float16 caches are widened), game_id, position,
// token, one row group per shard, and key-value metadata `sae_circuits.*` saying what the rows are.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { tableToIPC } from "apache-arrow";
import { Compression, Table as WasmTable, transformParquetStream, WriterPropertiesBuilder } from "parquet-wasm";
import { writeChunksAtomic } from "../io/atomic-write.js";
import { readCacheManifest, type CacheManifest } from "./cache-manifest.js";
import { sha256Hex } from "./activation-cache.js";
import { activationTable, decodeShard, SHARD_METADATA_PREFIX, ShardError } from "./shards.js";

/** The key-value metadata of a hook's Parquet export (keys `sae_circuits.<field>`). */
export function exportMetadata(manifest: CacheManifest, hook: string): Map<string, string> {
  const fields: Record<string, string | number> = {
    hook,
    model_name: manifest.model.name,
    model_sha256: manifest.model.sha256,
    d: manifest.hooks[hook].d,
    dtype: "float32",
    cache_dtype: manifest.dtype,
    dataset_id: manifest.dataset.id,
    split: manifest.dataset.split,
    rows: manifest.rows,
    position_tokens: JSON.stringify(manifest.positions.tokens),
  };
  return new Map(Object.entries(fields).map(([key, value]) => [SHARD_METADATA_PREFIX + key, String(value)]));
}

/** `<out>/<hook>.parquet` */
export function exportFile(out: string, hook: string): string {
  return path.join(out, `${hook}.parquet`);
}

/**
 * Writes `<out>/<hook>.parquet` for each hook (default all) of the cache at `dir`; returns the files. Shards stream
 * through one at a time (each checked against its manifest SHA-256), so memory holds about one shard.
 */
export async function exportCacheToParquet(dir: string, out: string, hooks?: readonly string[]): Promise<string[]> {
  const manifest = await readCacheManifest(dir);
  const available = Object.keys(manifest.hooks);
  const chosen = hooks ?? available;
  for (const hook of chosen) {
    if (!available.includes(hook)) throw new RangeError(`${dir}: the cache has no hook "${hook}"; it has ${available.join(", ")}`);
  }
  const files: string[] = [];
  for (const hook of chosen) {
    const { d, shards } = manifest.hooks[hook];
    const metadata = exportMetadata(manifest, hook);
    let next = 0;
    // parquet-wasm ends the file quietly when its source stream fails, so the failure is kept and rethrown below.
    let failure: unknown = null;
    // A stream of parquet-wasm record batches, one per shard, read when the writer asks for it.
    const batches = new ReadableStream({
      async pull(controller) {
        try {
          if (next === shards.length) return controller.close();
          const entry = shards[next++];
          const bytes = await readFile(path.join(dir, entry.file));
          if (bytes.length !== entry.bytes || sha256Hex(bytes) !== entry.sha256) {
            throw new ShardError(entry.file, `does not match the manifest's size and SHA-256; run \`saec activations verify ${dir}\``);
          }
          const shard = decodeShard(bytes, entry.file);
          const table = activationTable(shard, d, "float32", metadata, entry.file);
          controller.enqueue(WasmTable.fromIPCStream(tableToIPC(table, "stream")).recordBatch(0));
        } catch (error) {
          failure = error;
          controller.error(error);
        }
      },
    });
    const properties = new WriterPropertiesBuilder()
      .setCompression(Compression.ZSTD)
      .setMaxRowGroupSize(manifest.shard_rows)
      .setKeyValueMetadata(metadata)
      .build();
    const parquet = (await transformParquetStream(batches, properties)) as unknown as AsyncIterable<Uint8Array>;
    const chunks = async function* () {
      yield* parquet;
      if (failure !== null) throw failure;
    };
    const file = exportFile(out, hook);
    await writeChunksAtomic(file, chunks());
    files.push(file);
  }
  return files;
}
