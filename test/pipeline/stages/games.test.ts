import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readDatasetDirectory } from "../../../boards/dataset-directory.js";
import { parsePipelineConfig } from "../../../pipeline/config.js";
import { runPipeline } from "../../../pipeline/runner.js";
import { STAGES } from "../../../pipeline/stages/index.js";

describe("games stage", () => {
  it("writes a dataset directory whose bytes depend only on the config", async () => {
    const runs = await Promise.all([0, 1].map(() => mkdtemp(path.join(os.tmpdir(), "saec-games-"))));
    const manifests: string[] = [];
    for (const runsDir of runs) {
      const config = parsePipelineConfig({ name: "g", runsDir, stages: { games: { count: 300, shardSize: 100 } } }, STAGES);
      const summary = await runPipeline(config, { registry: STAGES });
      const stage = JSON.parse(await readFile(path.join(summary.stages[0].dir, "manifest.json"), "utf8"));
      expect(stage.metrics.games).toBe(300);
      expect(stage.config.seed).toBe(42); // the pipeline seed
      const rows = await readDatasetDirectory(path.join(summary.stages[0].dir, stage.outputs.dataset.path));
      expect(rows).toHaveLength(300);
      manifests.push(JSON.stringify(stage.outputs));
    }
    // same config in two places: same files, same hashes
    expect(manifests[1]).toBe(manifests[0]);
  });
});
