// The activations stage: caches the model stage's checkpoint over the games stage's dataset into <stage dir>/cache,
// with the default hook by depth, and is skipped when run again.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readCacheManifest } from "../../../data/cache-manifest.js";
import { verifyCache } from "../../../data/cache-inspect.js";
import { parsePipelineConfig } from "../../../pipeline/config.js";
import { runPipeline } from "../../../pipeline/runner.js";
import { STAGES } from "../../../pipeline/stages/index.js";
import { saveTinyCheckpoint } from "../../model/tiny-checkpoint.js";
import { temporaryDirs } from "../../temporary-dir.js";

const temporaryDir = temporaryDirs("saec-activations-stage-");

describe("activations stage", () => {
  it("caches a split of the games through the model stage's checkpoint, then skips when nothing changed", async () => {
    const root = await temporaryDir();
    const checkpoint = path.join(root, "ckpt");
    await saveTinyCheckpoint(checkpoint, 8);
    const config = parsePipelineConfig(
      {
        name: "a", runsDir: root,
        stages: { games: { count: 60, splits: { train: 0.5, val: 0.4 } }, model: { checkpoint, evalGames: 2 }, activations: { split: "val", maxGames: 3, shardRows: 50, batchSize: 2 } },
      },
      STAGES,
    );
    expect(config.stages.activations).toEqual({ split: "val", maxGames: 3, shardRows: 50, dtype: "float32", positionTokens: null, batchSize: 2 });
    const summary = await runPipeline(config, { registry: STAGES });
    const stage = summary.stages.find((s) => s.stage === "activations")!;
    expect(stage.outcome).toBe("ran");
    const stageManifest = JSON.parse(await readFile(path.join(stage.dir, "manifest.json"), "utf8"));
    expect(stageManifest.inputs).toHaveProperty("model");
    expect(stageManifest.outputs.cache.path).toBe("cache");
    const cache = path.join(stage.dir, "cache");
    const manifest = await readCacheManifest(cache);
    expect(Object.keys(manifest.hooks)).toEqual(["blocks.0.hook_resid_post"]);
    expect(manifest.dataset).toMatchObject({ split: "val", games: 3 });
    expect(stageManifest.metrics.rows).toBe(manifest.rows);
    expect(stageManifest.metrics["blocks.0.hook_resid_post.shards"]).toBe(Math.ceil(manifest.rows / 50));
    expect(await verifyCache(cache)).toEqual([]);
    const again = await runPipeline(config, { registry: STAGES });
    expect(again.stages.find((s) => s.stage === "activations")!.outcome).toBe("skipped");
  });
});
