import { copyFile, mkdtemp, readFile, appendFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readDatasetDirectory } from "../../../boards/dataset-directory.js";
import { ConfigError, parsePipelineConfig } from "../../../pipeline/config.js";
import { runPipeline } from "../../../pipeline/runner.js";
import { STAGES } from "../../../pipeline/stages/index.js";

async function runGames(runsDir: string, games: Record<string, unknown>) {
  const config = parsePipelineConfig({ name: "g", runsDir, stages: { games } }, STAGES);
  const summary = await runPipeline(config, { registry: STAGES });
  const stage = JSON.parse(await readFile(path.join(summary.stages[0].dir, "manifest.json"), "utf8"));
  return { summary, stage, datasetDir: path.join(summary.stages[0].dir, stage.outputs.dataset.path) };
}

function temporaryDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "saec-games-"));
}

describe("games stage", () => {
  it("writes an Othello dataset whose bytes depend only on the config", async () => {
    const outputs: string[] = [];
    for (const runsDir of [await temporaryDir(), await temporaryDir()]) {
      const { stage, datasetDir } = await runGames(runsDir, { count: 300, shardSize: 100 });
      expect(stage.metrics.games).toBe(300);
      expect(stage.config).toMatchObject({ game: "othello", source: "random", seed: 42 }); // defaults and the pipeline seed
      expect(await readDatasetDirectory(datasetDir)).toHaveLength(300);
      outputs.push(JSON.stringify(stage.outputs));
    }
    expect(outputs[1]).toBe(outputs[0]);
  });

  it("writes chess random games", async () => {
    const { stage, datasetDir } = await runGames(await temporaryDir(), { game: "chess", count: 12, maxChars: 120 });
    const rows = await readDatasetDirectory(datasetDir);
    expect(rows).toHaveLength(12);
    expect(rows.every((row) => row.game === "chess" && typeof row.moves === "string" && row.moves.startsWith(";1."))).toBe(true);
    expect(stage.config.seed).toBe(42);
  });

  it("imports PGN with skip counts, and reruns when the file changes", async () => {
    const dir = await temporaryDir();
    const file = path.join(dir, "games.pgn");
    await copyFile(path.resolve("test/fixtures/pgn/awkward.pgn"), file);
    const first = await runGames(dir, { game: "chess", source: "pgn", files: [file] });
    expect(first.stage.config.seed).toBeUndefined(); // the import takes no seed
    expect(first.stage.metrics.games).toBe(7);
    expect(first.stage.metrics["skipped.illegal-move"]).toBe(2);
    const again = await runGames(dir, { game: "chess", source: "pgn", files: [file] });
    expect(again.summary.stages[0].outcome).toBe("skipped");
    await appendFile(file, '\n[Event "extra"]\n[Result "1-0"]\n\n1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 4. Qxf7# 1-0\n');
    const changed = await runGames(dir, { game: "chess", source: "pgn", files: [file] }); // same config, new file
    expect(changed.summary.stages[0].outcome).toBe("ran");
    expect(changed.stage.metrics.gamesRead).toBe(first.stage.metrics.gamesRead + 1);
    expect(changed.stage.metrics["skipped.too-short"]).toBe(first.stage.metrics["skipped.too-short"] + 1); // 7 plies < 10
  });

  it("rejects a config mixing sources, naming the field", () => {
    expect(() => parsePipelineConfig({ name: "g", stages: { games: { game: "chess", source: "pgn" } } }, STAGES)).toThrow(ConfigError);
    expect(() => parsePipelineConfig({ name: "g", stages: { games: { game: "othello", depth: 3 } } }, STAGES)).toThrow(
      /stages\.games: unknown field\(s\) "depth"/,
    );
    expect(() => parsePipelineConfig({ name: "g", stages: { games: { game: "go" } } }, STAGES)).toThrow(/stages\.games\.game/);
  });
});
