import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { PgnFileError, pgnCompressionOf, readPgnText } from "../../../boards/chess/pgn-file.js";

const FIXTURES = fileURLToPath(new URL("../../fixtures/pgn/", import.meta.url));
const AWKWARD = path.join(FIXTURES, "awkward.pgn");
const scratch = mkdtempSync(path.join(tmpdir(), "pgn-file-"));

async function textOf(file: string, chunkBytes?: number): Promise<string> {
  let text = "";
  for await (const chunk of readPgnText(file, { chunkBytes })) text += chunk;
  return text;
}

async function errorOf(file: string): Promise<PgnFileError> {
  try {
    await textOf(file);
  } catch (error) {
    if (error instanceof PgnFileError) return error;
    throw error;
  }
  throw new Error(`expected a PgnFileError reading ${file}`);
}

describe("pgnCompressionOf", () => {
  it("reads the compression from the file name", () => {
    expect(["a.pgn", "b.PGN", "c.pgn.gz", "d.pgn.zst"].map(pgnCompressionOf)).toEqual(["none", "none", "gzip", "zstd"]);
    expect(() => pgnCompressionOf("games.txt")).toThrow("games.txt: not a PGN file name: expected .pgn, .pgn.gz or .pgn.zst");
  });
});

describe("readPgnText", () => {
  const plain = readFileSync(AWKWARD, "utf8");

  it("decodes UTF-8 split across reads (the fixture has ë and Ł)", async () => {
    expect(plain).toContain("Zoë Łukasiewicz");
    expect(await textOf(AWKWARD)).toBe(plain);
    expect(await textOf(AWKWARD, 1)).toBe(plain);
  });

  it("decompresses gzip written at run time", async () => {
    const gz = path.join(scratch, "awkward.pgn.gz");
    writeFileSync(gz, gzipSync(readFileSync(AWKWARD)));
    expect(await textOf(gz)).toBe(plain);
    expect(await textOf(gz, 5)).toBe(plain);
  });

  it("decompresses the committed zstd fixture (made with `zstd -19`), whole and in 3-byte reads", async () => {
    const zst = path.join(FIXTURES, "awkward.pgn.zst");
    expect(await textOf(zst)).toBe(plain);
    expect(await textOf(zst, 3)).toBe(plain);
  });

  it("names the file of a missing, corrupt or truncated input", async () => {
    const missing = path.join(scratch, "missing.pgn");
    expect((await errorOf(missing)).message).toMatch(new RegExp(`^${missing}: read failed: ENOENT`));

    const missingGz = path.join(scratch, "missing.pgn.gz");
    expect((await errorOf(missingGz)).message).toMatch(new RegExp(`^${missingGz}: read failed: ENOENT`));
    const missingZst = path.join(scratch, "missing.pgn.zst");
    expect((await errorOf(missingZst)).message).toMatch(new RegExp(`^${missingZst}: read failed: ENOENT`));

    const corruptGz = path.join(scratch, "corrupt.pgn.gz");
    writeFileSync(corruptGz, Buffer.from("this is not gzip data at all"));
    expect((await errorOf(corruptGz)).message).toMatch(new RegExp(`^${corruptGz}: gzip decompression failed: `));

    const truncatedZst = path.join(scratch, "truncated.pgn.zst");
    const zstBytes = readFileSync(path.join(FIXTURES, "awkward.pgn.zst"));
    writeFileSync(truncatedZst, zstBytes.subarray(0, zstBytes.length >> 1));
    expect((await errorOf(truncatedZst)).message).toMatch(new RegExp(`^${truncatedZst}: zstd decompression failed: `));
  });
});
