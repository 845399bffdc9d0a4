import { mkdtemp, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { readDatasetDirectory } from "../../../boards/dataset-directory.js";
import { addGamesCommands, showOthelloPosition } from "../../../pipeline/commands/games.js";
import { ConfigError } from "../../../pipeline/config.js";
import { othelloRow } from "../../boards/othello/rows.js";

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

describe("saec games generate and import", () => {
  async function run(args: string[]): Promise<string> {
    let text = "";
    const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const program = new Command("saec");
      addGamesCommands(program.command("games"));
      await program.parseAsync(["games", ...args], { from: "user" });
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    return text;
  }

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
