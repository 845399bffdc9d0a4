import { execFileSync } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, writeFile, type FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { PgnFileError } from "../../../boards/chess/pgn-file.js";
import { EngineNotFoundError } from "../../../boards/chess/uci-engine.js";
import { readDatasetDirectory } from "../../../boards/dataset-directory.js";
import { addGamesCommands, showOthelloPosition } from "../../../pipeline/commands/games.js";
import { ConfigError } from "../../../pipeline/config.js";
import { othelloRow } from "../../boards/othello/rows.js";
import { runCommand } from "./run-command.js";

describe("saec games show", () => {
  it("shows a position with mine/theirs from the next player's side", () => {
    const text = showOthelloPosition(othelloRow("c4 c3"), 1, "true-mover");
    expect(text.split("\n")[0]).toBe("demo-0-0: after move 1 (c3) of 2, unfinished wins (train)");
    // after c4 c3 white has c3 and d4 (flipped back), black d5 c4 e4; black to move: black = mine
    expect(text).toContain("c . . t m . . . .");
    expect(text).toMatch(/^flipped\s+d4$/m);
    expect(() => showOthelloPosition(othelloRow("c4 c3"), 2, "true-mover")).toThrow("--move 2 is outside 0..1");
  });
});

/** Runs `saec games …` in this process; what it printed on stdout and stderr. */
function runBoth(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return runCommand("games", addGamesCommands, args);
}

async function run(args: string[]): Promise<string> {
  return (await runBoth(args)).stdout;
}

const AWKWARD = "test/fixtures/pgn/awkward.pgn";

describe("saec games generate and import", () => {
  it("imports a PGN file into a dataset directory and reports the skips", async () => {
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), "saec-import-")), "dataset");
    const text = await run(["import", "test/fixtures/pgn/awkward.pgn", "--out", out]);
    expect(text).toContain(`${out}: 7 games`);
    expect(text).toContain("read 12, kept 7, skipped variant 1, setup 1, too-short 1, illegal-move 2");
    expect(await readDatasetDirectory(out)).toHaveLength(7);
    await expect(run(["import", "test/fixtures/pgn/awkward.pgn", "--out", out])).rejects.toThrow("already exists");
  });

  it("generates Othello games and refuses a bad count before any work", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-generate-"));
    expect(await run(["generate", "--count", "50", "--seed", "3", "--out", path.join(dir, "a")])).toContain("50 games");
    expect((await readdir(dir)).sort()).toEqual(["a"]);
    await expect(run(["generate", "--count", "0", "--out", path.join(dir, "b")])).rejects.toThrow(ConfigError);
    await expect(run(["generate", "--count", "many", "--out", path.join(dir, "b")])).rejects.toThrow('--count: expected an integer, found "many"');
    expect((await readdir(dir)).sort()).toEqual(["a"]);
  });
});

/** Opens a FIFO for writing once a reader has it open (non-blocking, so a reader that never comes fails the test). */
async function openWhenRead(fifo: string): Promise<FileHandle> {
  for (let attempt = 0; attempt < 500; attempt++) {
    try {
      return await open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENXIO") throw error; // ENXIO: no reader yet
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  throw new Error(`${fifo}: nobody opened it for reading`);
}

describe("saec games: bad input names the file, game and move, and leaves no partial dataset", () => {
  it("import --verbose prints every skip with its file, line, game, headers and move; without it only the summary", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-verbose-"));
    const pgn = path.join(dir, "club.pgn");
    await writeFile(
      pgn,
      [
        '[Event "Club"]\n[White "Ann"]\n[Black "Bo"]\n\n1. e4 e5 2. Ke3 Nc6 3. Nf3 Nf6 4. Bc4 Bc5 5. d3 d6 *\n',
        '[Event "Club"]\n[White "Cy"]\n[Black "Di"]\n\n1. d4 d5 2. c4 e6 3. Nc3 Nf6 4. Bg5 Be7 5. e3 O-O *\n',
      ].join("\n"),
    );
    const verbose = await runBoth(["import", pgn, "--out", path.join(dir, "a"), "--verbose"]);
    expect(verbose.stdout).toContain("read 2, kept 1, skipped illegal-move 1");
    const skipLines = verbose.stderr.split("\n").filter((line) => line.startsWith("skipped "));
    expect(skipLines).toEqual([
      `skipped ${pgn}:1: game 1 (Event "Club", White "Ann", Black "Bo"): illegal-move: ply 3 (2.Ke3) is not legal in ` +
        "rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2",
    ]);
    const quiet = await runBoth(["import", pgn, "--out", path.join(dir, "b")]);
    expect(quiet.stdout).toContain("read 2, kept 1, skipped illegal-move 1");
    expect(quiet.stderr).not.toContain("skipped");
    expect((await readdir(dir)).sort()).toEqual(["a", "b", "club.pgn"]);
  });

  it("a truncated .pgn.gz as the second file is an error naming it, and leaves neither --out nor a temporary", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-truncated-"));
    const whole = gzipSync(await readFile(AWKWARD));
    const truncated = path.join(dir, "cut.pgn.gz");
    await writeFile(truncated, whole.subarray(0, whole.length >> 1));
    const failure = runBoth(["import", AWKWARD, truncated, "--out", path.join(dir, "dataset")]);
    await expect(failure).rejects.toThrow(PgnFileError);
    await expect(runBoth(["import", AWKWARD, truncated, "--out", path.join(dir, "dataset")])).rejects.toThrow(
      `${truncated}: gzip decompression failed`,
    );
    expect(await readdir(dir)).toEqual(["cut.pgn.gz"]);
  });

  it("a failure while writing the dataset removes the temporary directory", async () => {
    // the PGN comes through a FIFO, so --out can be made (non-empty) after the existence check and before the rename
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-rename-"));
    const fifo = path.join(dir, "live.pgn");
    execFileSync("mkfifo", [fifo]);
    const out = path.join(dir, "dataset");
    const failure = runBoth(["import", fifo, "--out", out]).catch((error: unknown) => error);
    const writer = await openWhenRead(fifo); // the import reads it only after its --out check
    await mkdir(out);
    await writeFile(path.join(out, "someone-else.txt"), "");
    await writer.writeFile(await readFile(AWKWARD));
    await writer.close();
    expect(String(await failure)).toMatch(/ENOTEMPTY|EEXIST/);
    expect((await readdir(dir)).sort()).toEqual(["dataset", "live.pgn"]);
    expect(await readdir(out)).toEqual(["someone-else.txt"]);
  });

  it("a missing engine binary is an EngineNotFoundError naming the path, and leaves nothing behind", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-engine-"));
    const args = ["generate", "--game", "chess", "--source", "engine", "--set", "binary=/nonexistent/engine", "--count", "2"];
    const failure = runBoth([...args, "--out", path.join(dir, "dataset")]);
    await expect(failure).rejects.toThrow(EngineNotFoundError);
    await expect(runBoth([...args, "--out", path.join(dir, "dataset")])).rejects.toThrow(
      'UCI engine "/nonexistent/engine" not found: no executable file at /nonexistent/engine',
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
