// The loader half of the activations benchmark: data/loader.ts CacheLoader read for a while as SAE training reads it
// (batches through the shuffle buffer, shards decoded in the worker thread), its rows/s and the process's peak RSS.
// bench/activations.ts runs it in a process of its own (activations-loader-process.ts) so that RSS is its alone.

import { CacheLoader } from "../data/loader.js";

export interface LoaderMeasurementRequest {
  /** The cache directory. */
  dir: string;
  hook: string;
  batchSize: number;
  bufferRows: number;
  /** Check each shard's SHA-256 as it is read. */
  verify: boolean;
  /** Seconds of batches to time after the first one (more epochs are read as needed). */
  minSeconds: number;
  /** Epochs to read at least, so every shard is read at least this many times. */
  minEpochs: number;
  seed: number;
}

export interface LoaderMeasurement {
  d: number;
  rowsPerEpoch: number;
  /** Shards in one epoch. */
  shards: number;
  /** Seconds from opening the loader to the first batch: the worker's start, the first shard, the first fill. */
  firstBatchSeconds: number;
  /** Rows of the timed batches (every batch after the first) and the seconds they took. */
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Epochs read, the first batch included. */
  epochsRead: number;
  /** process.resourceUsage().maxRSS before the loader opened (modules loaded) and at the end. */
  rssBeforeMiB: number;
  peakRssMiB: number;
}

const MIB = 1024 * 1024;

/** Reads the cache's `hook` through a CacheLoader until `minSeconds` and `minEpochs` are both reached. */
export async function measureLoader(request: LoaderMeasurementRequest): Promise<LoaderMeasurement> {
  for (const field of ["batchSize", "bufferRows", "minEpochs"] as const) {
    if (!Number.isInteger(request[field]) || request[field] < 1) throw new RangeError(`activations benchmark: loader ${field} = ${request[field]}, expected a positive integer`);
  }
  if (!(request.minSeconds > 0)) throw new RangeError(`activations benchmark: loader minSeconds = ${request.minSeconds}, expected a positive number`);
  const rssBeforeMiB = (process.resourceUsage().maxRSS * 1024) / MIB;
  const opened = performance.now();
  const loader = await CacheLoader.open({
    dir: request.dir,
    hook: request.hook,
    verify: request.verify,
    batchSize: request.batchSize,
    bufferRows: request.bufferRows,
    seed: request.seed,
    epochs: Infinity,
  });
  try {
    const rowsPerEpoch = loader.manifest.rows;
    const minRows = request.minEpochs * rowsPerEpoch;
    const first = await loader.next();
    if (first === null) throw new Error(`activations benchmark: the cache in ${request.dir} gave no batch`);
    const start = performance.now();
    let rows = 0;
    let seconds = 0;
    while (seconds < request.minSeconds || loader.rowsRead < minRows) {
      const batch = await loader.next();
      if (batch === null) throw new Error(`activations benchmark: an endless loader over ${request.dir} ended`);
      rows += batch.length / loader.d;
      seconds = (performance.now() - start) / 1000;
    }
    return {
      d: loader.d,
      rowsPerEpoch,
      shards: loader.manifest.hooks[request.hook].shards.length,
      firstBatchSeconds: (start - opened) / 1000,
      rows,
      seconds,
      rowsPerSecond: rows / seconds,
      epochsRead: loader.rowsRead / rowsPerEpoch,
      rssBeforeMiB,
      peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MIB,
    };
  } finally {
    await loader.close();
  }
}
