// The activation-cache loader for SAE training (spec sae.md §1.1): one hook's shards, read and decoded in a worker
// thread one shard ahead, in a seeded order per epoch, through the shuffle buffer of data/activation-source.ts.
// Memory holds the buffer, the shard being copied into it, the one read ahead and the worker's read buffer, whatever
// the cache's size.

import path from "node:path";
import { Worker } from "node:worker_threads";
import { SequenceOrder } from "../model/training-data.js";
import { CACHE_MANIFEST, readCacheManifest, type CacheManifest } from "./cache-manifest.js";
import {
  ActivationSourceError, checkShuffleOptions, ShuffledActivations, type RowChunk, type RowChunkSource, type ShuffleOptions,
} from "./activation-source.js";
import {
  readShardFile, SHARD_READER_ROLE, type ShardReaderReply, type ShardReaderRequest, type ShardReadResult, type ShardReadTask,
} from "./loader-worker.js";
import { ShardError } from "./shards.js";

export interface CacheLoaderOptions extends ShuffleOptions {
  /** The cache directory (holding manifest.json). */
  dir: string;
  /** TransformerLens hook name; one of the manifest's hooks. */
  hook: string;
  /** Check each shard's SHA-256 as it is read; default true (sizes are always checked). */
  verify?: boolean;
  /** The row width the consumer expects; a cache of another d is an error naming both. */
  expectD?: number;
  /** Decode in a worker thread (default true); false decodes on this thread, with the same batches. */
  worker?: boolean;
}

/** Reads one shard; `close` ends any thread behind it. */
interface ShardReader {
  read(task: ShardReadTask): Promise<ShardReadResult>;
  close(): Promise<void>;
}

/** Batches of one hook of an activation cache; `CacheLoader.open` reads the manifest and checks the hook. */
export class CacheLoader extends ShuffledActivations {
  private constructor(
    readonly manifest: CacheManifest,
    hook: string,
    d: number,
    chunks: RowChunkSource,
    options: Required<ShuffleOptions>,
  ) {
    super(hook, d, manifest.rows, chunks, options);
  }

  static async open(options: CacheLoaderOptions): Promise<CacheLoader> {
    const { dir, hook, verify = true, expectD, worker = true } = options;
    const shuffle = checkShuffleOptions(`cache loader ${dir}`, options);
    const manifest = await readCacheManifest(dir);
    const manifestFile = path.join(dir, CACHE_MANIFEST);
    const entry = Object.hasOwn(manifest.hooks, hook) ? manifest.hooks[hook] : undefined;
    if (entry === undefined) {
      throw new ActivationSourceError(`${manifestFile}: no hook "${hook}" in the cache; it holds ${Object.keys(manifest.hooks).join(", ") || "no hooks"}`);
    }
    if (expectD !== undefined && entry.d !== expectD) {
      throw new ActivationSourceError(`${manifestFile}: hook "${hook}" has rows of width d = ${entry.d}, the consumer expects d = ${expectD}`);
    }
    if (manifest.rows === 0) throw new ActivationSourceError(`${manifestFile}: the cache holds no rows`);
    const tasks = entry.shards.map((shard): ShardReadTask => ({
      file: path.resolve(dir, shard.file), hook, d: entry.d, rows: shard.rows, bytes: shard.bytes, sha256: shard.sha256, verify,
    }));
    const reader = (worker ? workerShardReader() : undefined) ?? inThreadShardReader();
    return new CacheLoader(manifest, hook, entry.d, new ShardChunks(reader, tasks, shuffle.seed, shuffle.epochs), shuffle);
  }
}

/**
 * Shard k of the stream is shard order_e[k mod n] of epoch e = ⌊k/n⌋ (a seeded Fisher–Yates order per epoch). One
 * shard is read ahead: while the buffer copies from shard k, shard k + 1 is being read.
 */
class ShardChunks implements RowChunkSource {
  private readonly order: SequenceOrder;
  private readonly total: number;
  private issued = 0;
  private readonly inFlight: Promise<RowChunk>[] = [];

  constructor(
    private readonly reader: ShardReader,
    private readonly tasks: readonly ShardReadTask[],
    seed: number,
    epochs: number,
  ) {
    this.order = new SequenceOrder(tasks.length, seed);
    this.total = epochs * tasks.length;
  }

  next(): Promise<RowChunk | null> {
    if (this.inFlight.length === 0) this.request();
    const chunk = this.inFlight.shift();
    if (chunk === undefined) return Promise.resolve(null);
    this.request(); // read ahead
    return chunk;
  }

  async close(): Promise<void> {
    this.inFlight.length = 0;
    this.issued = this.total;
    await this.reader.close();
  }

  private request(): void {
    if (this.issued >= this.total) return;
    const k = this.issued++;
    const epoch = Math.floor(k / this.tasks.length);
    const chunk = this.reader.read(this.tasks[this.order.at(k)]).then(({ activations, rows }) => ({ epoch, activations, rows }));
    chunk.catch(() => undefined); // a read-ahead failure surfaces when its chunk is taken, not as an unhandled rejection
    this.inFlight.push(chunk);
  }
}

function inThreadShardReader(): ShardReader {
  return { read: readShardFile, close: async () => undefined };
}

/**
 * A worker thread running the built loader-worker.js. Under TypeScript sources (vitest, tsx) the thread first
 * registers tsx's ESM hooks and then imports loader-worker.ts (Node 20 does not apply `--import` in a worker's
 * execArgv to its entry); without tsx shards are read on this thread (undefined here). The worker keeps the process
 * alive only while a read is waiting.
 */
function workerShardReader(): ShardReader | undefined {
  let entry: URL | string = new URL("./loader-worker.js", import.meta.url);
  if (import.meta.url.endsWith(".ts")) {
    let tsxApi: string;
    try {
      tsxApi = import.meta.resolve("tsx/esm/api"); // the ESM build: the CommonJS one cannot register in a worker
    } catch {
      return undefined;
    }
    const workerSource = new URL("./loader-worker.ts", import.meta.url).href;
    entry = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerSource)}); });`;
  }
  let worker: Worker | null = null;
  let failure: Error | null = null;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (result: ShardReadResult) => void; reject: (error: Error) => void }>();
  const failAll = (error: Error) => {
    failure = error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  const start = (): Worker => {
    const thread = new Worker(entry, { eval: typeof entry === "string", workerData: { role: SHARD_READER_ROLE } });
    thread.on("message", (reply: ShardReaderReply) => {
      const waiter = waiting.get(reply.id);
      if (waiter === undefined) return;
      waiting.delete(reply.id);
      if (waiting.size === 0) thread.unref();
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new ShardError(reply.shard, reply.detail));
    });
    thread.on("error", (error) => failAll(new Error(`activation shard reader thread failed: ${error.message}`, { cause: error })));
    thread.on("exit", (code) => {
      if (waiting.size > 0) failAll(new Error(`activation shard reader thread exited (code ${code}) with ${waiting.size} reads waiting`));
    });
    thread.unref();
    return thread;
  };
  return {
    read(task) {
      if (failure !== null) return Promise.reject(failure);
      worker ??= start();
      const id = nextId++;
      const thread = worker;
      return new Promise<ShardReadResult>((resolve, reject) => {
        if (waiting.size === 0) thread.ref();
        waiting.set(id, { resolve, reject });
        thread.postMessage({ id, task } satisfies ShardReaderRequest);
      });
    },
    async close() {
      const thread = worker;
      worker = null;
      failAll(failure ?? new Error("activation shard reader is closed"));
      if (thread !== null) await thread.terminate();
    },
  };
}
