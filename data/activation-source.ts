// What SAE training reads (spec sae.md §1.1): batches of activation rows drawn through a seeded shuffle buffer,
// refilled when half consumed, drawn uniformly without replacement. The rows come in chunks (a cache shard, one
// model run) from a RowChunkSource; data/loader.ts reads them from a cache, data/model-source.ts from a model.

import { randomBelow, xoshiro128, type RandomStream } from "../boards/random.js";

/** A stream of activation batches of one hook, the interface every SAE trainer consumes. */
export interface ActivationSource extends AsyncIterable<Float32Array> {
  /** Row width. */
  readonly d: number;
  /** TransformerLens hook name the rows come from. */
  readonly hook: string;
  /** Rows in one epoch, or null where unknown before the epoch has been read. */
  readonly rowsPerEpoch: number | null;
  /**
   * The next batch, row-major [rows, d] with rows = batchSize except possibly the last one (see `dropLast`);
   * null once every epoch has been read. Calls are served in order.
   */
  next(batchSize?: number): Promise<Float32Array | null>;
  /** Releases workers and buffers; later `next` calls fail. */
  close(): Promise<void>;
  /** Moves on exactly as `count` calls of next(batchSize) would, without returning the rows (resuming a sweep). */
  skipBatches(count: number, batchSize?: number): Promise<void>;
}

/** Rows handed to the shuffle buffer: activations row-major [rows, d], all from epoch `epoch`. */
export interface RowChunk {
  epoch: number;
  activations: Float32Array;
  rows: number;
}

/** Chunks in stream order, epoch after epoch; null at the end of the last epoch. */
export interface RowChunkSource {
  next(): Promise<RowChunk | null>;
  close(): Promise<void>;
}

/** An activation source asked for something it cannot give (unknown hook, wrong width, bad option). */
export class ActivationSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ActivationSourceError";
  }
}

export interface ShuffleOptions {
  /** Rows per batch when `next` is called without a size. */
  batchSize: number;
  /** Shuffle-buffer capacity in rows (spec §1.1: ≥ 1000 contexts, e.g. 59,000 Othello rows). */
  bufferRows: number;
  /** Seeds the row draws and the per-epoch order of shards or games; integer in [0, 2^32). */
  seed: number;
  /** Passes over the data; default 1, Infinity for an endless stream. */
  epochs?: number;
  /** Drop the short batch at the very end instead of returning it; default false. */
  dropLast?: boolean;
}

/** Checks the options shared by every shuffled source; `source` names it in errors. */
export function checkShuffleOptions(source: string, options: ShuffleOptions): Required<ShuffleOptions> {
  const { batchSize, bufferRows, seed, epochs = 1, dropLast = false } = options;
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new ActivationSourceError(`${source}: ${name} must be a positive integer, got ${value}`);
  };
  positive("batchSize", batchSize);
  positive("bufferRows", bufferRows);
  if (epochs !== Infinity) positive("epochs", epochs);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ActivationSourceError(`${source}: seed must be an integer in [0, 2^32), got ${seed}`);
  }
  return { batchSize, bufferRows, seed, epochs, dropLast };
}

/** The row-draw stream of a seed; the per-epoch orders use xoshiro128(seed, epoch) (model/training-data.ts). */
export function rowDrawStream(seed: number): RandomStream {
  return xoshiro128(seed, 0xffffffff);
}

/**
 * A fixed-capacity pool of rows [capacity, d]. `draw` takes rows uniformly without replacement: pick one of the
 * `count` unread rows, copy it out, move the last unread row into its slot.
 */
export class ShuffleBuffer {
  readonly rows: Float32Array; // [capacity, d]
  count = 0;

  constructor(
    readonly d: number,
    readonly capacity: number,
    private readonly random: RandomStream,
  ) {
    this.rows = new Float32Array(capacity * d);
  }

  /** Appends `count` rows of `source` starting at row `from`. */
  append(source: Float32Array, from: number, count: number): void {
    if (this.count + count > this.capacity) throw new RangeError(`shuffle buffer: ${this.count} + ${count} rows exceed its capacity ${this.capacity}`);
    const { d } = this;
    this.rows.set(source.subarray(from * d, (from + count) * d), this.count * d);
    this.count += count;
  }

  /** Moves `count` random unread rows into `out` from row `outRow` on (with `out` null, drops them). */
  draw(out: Float32Array | null, outRow: number, count: number): void {
    if (count > this.count) throw new RangeError(`shuffle buffer: ${count} rows asked, ${this.count} unread`);
    const { d, rows } = this;
    for (let i = 0; i < count; i++) {
      const pick = randomBelow(this.random, this.count);
      const last = this.count - 1;
      out?.set(rows.subarray(pick * d, pick * d + d), (outRow + i) * d);
      if (pick !== last) rows.copyWithin(pick * d, last * d, last * d + d);
      this.count = last;
    }
  }
}

/**
 * Batches through a shuffle buffer (spec sae.md §1.1, dictionary_learning's ActivationBuffer): before each row is
 * drawn, a buffer at or below half its capacity is refilled to full from the chunks of the current epoch. Epochs
 * never mix in the buffer, so the first k·rowsPerEpoch rows hold every row exactly k times; a batch may straddle
 * two epochs. The sequence of batches depends only on the seed and the chunks, not on when the chunks arrive.
 */
export class ShuffledActivations implements ActivationSource {
  readonly batchSize: number;
  readonly epochs: number;
  /** Rows drawn so far (returned or skipped). */
  rowsRead = 0;
  /** The epoch the buffer holds rows of (0-based). */
  epoch = 0;
  private readonly buffer: ShuffleBuffer;
  private readonly dropLast: boolean;
  private pending: RowChunk | null = null; // the chunk being copied into the buffer
  private pendingOffset = 0; // its first row not yet in the buffer
  private chunksEnded = false;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: unknown = null;
  private closed = false;

  constructor(
    readonly hook: string,
    readonly d: number,
    readonly rowsPerEpoch: number | null,
    private readonly chunks: RowChunkSource,
    options: Required<ShuffleOptions>,
  ) {
    this.batchSize = options.batchSize;
    this.epochs = options.epochs;
    this.dropLast = options.dropLast;
    this.buffer = new ShuffleBuffer(d, options.bufferRows, rowDrawStream(options.seed));
  }

  next(batchSize = this.batchSize): Promise<Float32Array | null> {
    return this.serve(async () => {
      this.checkBatchSize(batchSize);
      const out = new Float32Array(batchSize * this.d);
      const rows = await this.drawBatch(batchSize, out);
      if (rows === null) return null;
      return rows === batchSize ? out : out.slice(0, rows * this.d);
    });
  }

  skipBatches(count: number, batchSize = this.batchSize): Promise<void> {
    return this.serve(async () => {
      this.checkBatchSize(batchSize);
      if (!Number.isInteger(count) || count < 0) throw new ActivationSourceError(`activation source for ${this.hook}: batch count must be a non-negative integer, got ${count}`);
      for (let i = 0; i < count; i++) {
        if ((await this.drawBatch(batchSize, null)) === null) {
          throw new ActivationSourceError(`activation source for ${this.hook}: asked to skip ${count} batches of ${batchSize}, the data ended after ${i}`);
        }
      }
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Float32Array> {
    for (let batch = await this.next(); batch !== null; batch = await this.next()) yield batch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    await this.chunks.close();
  }

  private checkBatchSize(batchSize: number): void {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ActivationSourceError(`activation source for ${this.hook}: batch size must be a positive integer, got ${batchSize}`);
    }
  }

  /** Runs calls one after another; after a failure (a bad argument aside) every later call fails with the same error. */
  private serve<T>(call: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      if (this.closed) throw new ActivationSourceError(`activation source for ${this.hook} is closed`);
      if (this.failure !== null) throw this.failure;
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof ActivationSourceError)) this.failure = error;
        throw error;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Draws the rows of one batch into `out` (or drops them); the row count, or null at the end of the data. */
  private async drawBatch(batchSize: number, out: Float32Array | null): Promise<number | null> {
    const { buffer } = this;
    const half = Math.floor(buffer.capacity / 2);
    let filled = 0;
    while (filled < batchSize) {
      if (buffer.count <= half) await this.refill();
      if (buffer.count === 0) {
        const chunk = await this.peekChunk();
        if (chunk === null) break;
        this.epoch = chunk.epoch; // the buffer is empty: the next epoch may enter
        continue;
      }
      // Above half, draw down to half and check again; at or below half the epoch has no more rows.
      const available = buffer.count > half ? buffer.count - half : buffer.count;
      const count = Math.min(batchSize - filled, available);
      buffer.draw(out, filled, count);
      filled += count;
    }
    if (filled === 0 || (filled < batchSize && this.dropLast)) return null;
    this.rowsRead += filled;
    return filled;
  }

  /** Fills the buffer to capacity from the current epoch's chunks (fewer rows where the epoch runs out). */
  private async refill(): Promise<void> {
    const { buffer } = this;
    while (buffer.count < buffer.capacity) {
      const chunk = await this.peekChunk();
      if (chunk === null || chunk.epoch !== this.epoch) return;
      const count = Math.min(buffer.capacity - buffer.count, chunk.rows - this.pendingOffset);
      buffer.append(chunk.activations, this.pendingOffset, count);
      this.pendingOffset += count;
      if (this.pendingOffset === chunk.rows) this.pending = null; // release it before the next chunk arrives
    }
  }

  private async peekChunk(): Promise<RowChunk | null> {
    while (this.pending === null && !this.chunksEnded) {
      const chunk = await this.chunks.next();
      if (chunk === null) {
        this.chunksEnded = true;
      } else {
        if (chunk.activations.length !== chunk.rows * this.d) {
          throw new RangeError(`${this.hook}: a chunk of ${chunk.rows} rows holds ${chunk.activations.length} values, expected rows × d = ${chunk.rows * this.d}`);
        }
        if (chunk.epoch < this.epoch) throw new RangeError(`${this.hook}: a chunk of epoch ${chunk.epoch} arrived during epoch ${this.epoch}`);
        if (chunk.rows > 0) {
          this.pending = chunk;
          this.pendingOffset = 0;
        }
      }
    }
    return this.pending;
  }
}
