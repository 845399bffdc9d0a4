// PGN files as streams of text chunks (spec boards.md §2.3): `.pgn`, `.pgn.gz` and `.pgn.zst` are decompressed
// on the fly, so memory stays constant however large the file (Lichess monthly dumps are tens of GB).

import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";

export type PgnCompression = "none" | "gzip" | "zstd";

/** Compressed bytes per fzstd push (see readPgnText). */
const ZSTD_PUSH_BYTES = 1024;

/** A PGN file that cannot be read: names the file and, when known, the 1-based line. */
export class PgnFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
  ) {
    super(`${file}${line === null ? "" : `:${line}`}: ${detail}`);
    this.name = "PgnFileError";
  }
}

/** The compression of a PGN file, from its name. */
export function pgnCompressionOf(file: string): PgnCompression {
  const name = file.toLowerCase();
  if (name.endsWith(".pgn")) return "none";
  if (name.endsWith(".pgn.gz")) return "gzip";
  if (name.endsWith(".pgn.zst")) return "zstd";
  throw new PgnFileError(file, null, "not a PGN file name: expected .pgn, .pgn.gz or .pgn.zst");
}

/**
 * The file's text in chunks, decoded as UTF-8 (a character split across chunks is kept whole). `chunkBytes` is
 * the size of the reads from disk (tests use tiny ones to split every structure across chunks).
 */
export async function* readPgnText(file: string, options: { chunkBytes?: number } = {}): AsyncGenerator<string> {
  const compression = pgnCompressionOf(file);
  const input = createReadStream(file, { highWaterMark: options.chunkBytes ?? 1 << 16 });
  const decoder = new TextDecoder("utf-8");
  const fail = (stage: string, error: unknown): PgnFileError =>
    error instanceof PgnFileError ? error : new PgnFileError(file, null, `${stage}: ${(error as Error).message ?? error}`);
  try {
    if (compression === "zstd") {
      // fzstd calls back synchronously inside push(), so the decoded text of each input chunk is ready after it
      const pending: string[] = [];
      const zstd = new Decompress((data) => void pending.push(decoder.decode(data, { stream: true })));
      const push = (chunk: Uint8Array, final: boolean): void => {
        try {
          zstd.push(chunk, final);
        } catch (error) {
          throw fail("zstd decompression failed", error);
        }
      };
      try {
        for await (const chunk of input) {
          // small pushes bound the text held at once: one push decodes every block it completes, and a highly
          // compressible file can hold megabytes of text in a few kilobytes
          for (let offset = 0; offset < (chunk as Buffer).length; offset += ZSTD_PUSH_BYTES) {
            push((chunk as Buffer).subarray(offset, offset + ZSTD_PUSH_BYTES), false);
            yield* pending.splice(0);
          }
        }
      } catch (error) {
        throw fail("read failed", error);
      }
      push(new Uint8Array(0), true);
      yield* pending.splice(0);
    } else {
      const stream = compression === "gzip" ? input.pipe(createGunzip()) : input;
      let readError: Error | null = null;
      input.on("error", (error) => {
        readError = error;
        if (stream !== input) stream.destroy(error); // pipe() does not forward errors
      });
      try {
        for await (const chunk of stream) yield decoder.decode(chunk as Buffer, { stream: true });
      } catch (error) {
        throw fail(readError === null ? "gzip decompression failed" : "read failed", error);
      } finally {
        stream.destroy();
      }
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } finally {
    input.destroy();
  }
}
