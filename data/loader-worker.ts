// Reading one activation shard for the cache loader (data/loader.ts), off the main thread so decoding overlaps
// training: the file's size and SHA-256 against the manifest, decodeShard, and the checks that it is the shard the
// manifest lists. As a worker thread it answers {id, task} messages and transfers the activations back.

import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";
import { decodeShard, ShardError } from "./shards.js";

/** `workerData.role` of a shard-reader worker, so importing this file elsewhere starts no listener. */
export const SHARD_READER_ROLE = "sae-circuits.shard-reader";

/** One shard as the manifest lists it. */
export interface ShardReadTask {
  /** Absolute path; names the shard in errors. */
  file: string;
  hook: string;
  d: number;
  rows: number;
  bytes: number;
  sha256: string;
  /** Check the SHA-256 (the size is always checked). */
  verify: boolean;
}

export interface ShardReadResult {
  activations: Float32Array; // [rows, d]
  rows: number;
}

export type ShardReaderRequest = { id: number; task: ShardReadTask };
export type ShardReaderReply =
  | { id: number; ok: true; result: ShardReadResult }
  | { id: number; ok: false; shard: string; detail: string };

/**
 * Reads, verifies and decodes one shard; every failure is a ShardError naming the file. The file is read into
 * `scratch` when it fits (a reader reuses one, so a shard's bytes leave no garbage behind); pass none to allocate.
 */
export async function readShardFile(task: ShardReadTask, scratch?: Uint8Array): Promise<ShardReadResult> {
  const { file } = task;
  let bytes: Uint8Array;
  try {
    const handle = await open(file, "r");
    try {
      const { size } = await handle.stat();
      if (size !== task.bytes) throw new ShardError(file, `${size} bytes, the manifest lists ${task.bytes} (truncated or rewritten)`);
      bytes = scratch !== undefined && scratch.length >= size ? scratch.subarray(0, size) : new Uint8Array(size);
      for (let offset = 0; offset < size; ) {
        const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
        if (bytesRead === 0) throw new ShardError(file, `ended after ${offset} of ${size} bytes while being read`);
        offset += bytesRead;
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ShardError) throw error;
    throw new ShardError(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
  if (task.verify) {
    const digest = createHash("sha256").update(bytes).digest("hex");
    if (digest !== task.sha256) throw new ShardError(file, `SHA-256 ${digest} differs from the manifest's ${task.sha256} (corrupt)`);
  }
  const shard = decodeShard(bytes, file);
  const { metadata } = shard;
  if (metadata.hook !== task.hook) throw new ShardError(file, `holds hook "${metadata.hook}", the manifest lists it under "${task.hook}"`);
  if (metadata.d !== task.d) throw new ShardError(file, `rows of width d = ${metadata.d}, the manifest says d = ${task.d}`);
  if (shard.rows !== task.rows) throw new ShardError(file, `${shard.rows} rows, the manifest lists ${task.rows}`);
  return { activations: shard.activations, rows: shard.rows };
}

/** The message without ShardError's `<shard>: ` prefix, which the main thread's ShardError adds back. */
function detailOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof ShardError && message.startsWith(`${error.shard}: `) ? message.slice(error.shard.length + 2) : message;
}

const port = parentPort;
if (port !== null && (workerData as { role?: unknown } | null)?.role === SHARD_READER_ROLE) {
  let scratch = new Uint8Array(0); // the largest shard read so far, shared by the reads: they run one at a time
  let previous: Promise<unknown> = Promise.resolve();
  port.on("message", ({ id, task }: ShardReaderRequest) => {
    previous = previous.then(async () => {
      if (scratch.length < task.bytes) scratch = new Uint8Array(task.bytes);
      try {
        const result = await readShardFile(task, scratch);
        port.postMessage({ id, ok: true, result } satisfies ShardReaderReply, [result.activations.buffer as ArrayBuffer]);
      } catch (error) {
        const shard = error instanceof ShardError ? error.shard : task.file;
        port.postMessage({ id, ok: false, shard, detail: detailOf(error) } satisfies ShardReaderReply);
      }
    });
  });
}
