// The sae stage: a tiny sweep on the activations stage's cache, evaluated on held-out games through the model stage's
// checkpoint; SAELens directories and per-trainer metrics in the stage manifest; skipped when run again.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parsePipelineConfig } from "../../../pipeline/config.js";
import { runPipeline } from "../../../pipeline/runner.js";
import { STAGES } from "../../../pipeline/stages/index.js";
import { readSaeDirectory } from "../../../sae/files.js";
import { saveTinyCheckpoint } from "../../model/tiny-checkpoint.js";
import { temporaryDirs } from "../../temporary-dir.js";

const temporaryDir = temporaryDirs("saec-sae-stage-");

describe("sae stage", () => {
  it("trains the sweep on the cache, saves SAELens directories with held-out metrics, then skips when nothing changed", async () => {
    const root = await temporaryDir();
    const checkpoint = path.join(root, "ckpt");
    await saveTinyCheckpoint(checkpoint, 8);
    const raw = {
      name: "s", runsDir: root, seed: 5,
      stages: {
        games: { count: 60, splits: { train: 0.5, val: 0.4 } },
        model: { checkpoint, evalGames: 2 },
        activations: { maxGames: 8, shardRows: 200, batchSize: 4 },
        sae: { steps: 6, batchSize: 32, checkpointSteps: 4, trainers: [{ trainer: "standard", dSae: 24 }, { trainer: "p_anneal", dSae: 24, alpha: 0.05 }], eval: { games: 3 } },
      },
    };
    const config = parsePipelineConfig(raw, STAGES);
    expect(config.stages.sae).toMatchObject({ seed: 5, bufferContexts: 1000, logSteps: 100, eval: { split: "val", games: 3, batchSize: 32, lossRecovered: true } });
    const summary = await runPipeline(config, { registry: STAGES });
    const stage = summary.stages.find((s) => s.stage === "sae")!;
    expect(stage.outcome).toBe("ran");
    const manifest = JSON.parse(await readFile(path.join(stage.dir, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.inputs).sort()).toEqual(["activations", "games", "model"]);
    expect(manifest.outputs.trainer_1.path).toBe("saes/trainer_1/sae_weights.safetensors");
    expect(manifest.metrics).toMatchObject({ steps: 6, trainers: 2 });
    for (const i of [0, 1]) {
      const saved = await readSaeDirectory(path.join(stage.dir, "saes", `trainer_${i}`));
      expect(saved).toMatchObject({ trainer: ["standard", "p_anneal"][i], site: { hookName: "blocks.0.hook_resid_post", modelName: "tiny-othello", contextSize: 59 } });
      const metrics = JSON.parse(await readFile(path.join(stage.dir, "saes", `trainer_${i}`, "metrics.json"), "utf8"));
      expect(metrics.eval).toMatchObject({ heldOut: true, games: 3 });
      expect(manifest.metrics[`trainer_${i}.loss_recovered`]).toBe(metrics.loss_recovered);
      expect(manifest.metrics[`trainer_${i}.fve`]).toBe(metrics.fve);
    }
    expect((await runPipeline(config, { registry: STAGES })).stages.find((s) => s.stage === "sae")!.outcome).toBe("skipped");
  });

  it("refuses a config with problems before any work, and needs the stages it reads", () => {
    const bad = { name: "s", stages: { games: {}, model: {}, activations: {}, sae: { steps: 5, trainers: [{ trainer: "topk", dSae: 8 }], batchsize: 8, eval: { games: 0 } } } };
    expect(() => parsePipelineConfig(bad, STAGES)).toThrow(ConfigError);
    expect(() => parsePipelineConfig(bad, STAGES)).toThrow(/stages\.sae\.trainers\.0\.k: (.|\n)*stages\.sae\.eval\.games: (.|\n)*stages\.sae: unknown field\(s\) "batchsize"/);
    expect(() => parsePipelineConfig({ name: "s", stages: { games: {}, model: {}, sae: { steps: 5, trainers: [{ trainer: "standard", dSae: 8 }] } } }, STAGES)).toThrow(/stage "sae" reads the output of stage "activations"/);
  });
});
