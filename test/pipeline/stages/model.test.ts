// The model stage: trains a preset on the games stage's dataset with the preset's recipe (overridable), or
// copies and evaluates a given checkpoint; a changed checkpoint file reruns it.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { initTfjs } from "../../../compute/tfjs.js";
import { loadGpt, saveGpt } from "../../../model/checkpoint.js";
import { presetConfig } from "../../../model/config.js";
import { createGpt, disposeGpt } from "../../../model/gpt.js";
import { parsePipelineConfig } from "../../../pipeline/config.js";
import { runPipeline } from "../../../pipeline/runner.js";
import { STAGES } from "../../../pipeline/stages/index.js";
import { resolvedTrainSettings } from "../../../pipeline/stages/model.js";
import { temporaryDirs } from "../../temporary-dir.js";

const temporaryDir = temporaryDirs("saec-model-stage-");

async function run(runsDir: string, model: Record<string, unknown>) {
  const config = parsePipelineConfig({ name: "m", runsDir, stages: { games: { count: 300 }, model } }, STAGES);
  const summary = await runPipeline(config, { registry: STAGES });
  const stage = summary.stages.find((s) => s.stage === "model")!;
  return { summary, stage, manifest: JSON.parse(await readFile(path.join(stage.dir, "manifest.json"), "utf8")) };
}

describe("model stage", () => {
  it("takes the preset's recipe from spec §4, with the config's fields over it and the pipeline seed", () => {
    const slice = parsePipelineConfig({ name: "m", stages: { games: {}, model: { preset: "othello-2l-64", train: { trainTokens: 4096 } } } }, STAGES).stages.model as never;
    expect(resolvedTrainSettings(slice)).toMatchObject({ batchTokens: 2048, peakLr: 3e-3, warmupSteps: 10, trainTokens: 4096, seed: 42 });
  });

  it("trains a preset and reports its validation numbers", async () => {
    const { stage, manifest } = await run(await temporaryDir(), { preset: "othello-2l-64", train: { trainTokens: 2065 * 4, evalEvery: 2, evalGames: 3 } });
    expect(stage.outcome).toBe("ran");
    expect(manifest.metrics.steps).toBe(4);
    expect(manifest.metrics.legalRate).toBeGreaterThanOrEqual(0);
    const { tf } = await initTfjs();
    const model = await loadGpt(tf, path.join(stage.dir, manifest.outputs.model.path));
    expect(model.config.training).toMatchObject({ steps: 4, trainTokens: 8260 });
    disposeGpt(model);
  });

  it("continues training from a checkpoint, keeping the earlier recipe and metrics", async () => {
    const root = await temporaryDir();
    const first = await run(root, { preset: "othello-2l-64", train: { trainTokens: 2065 * 2, evalEvery: 2, evalGames: 3 } });
    const earlier = path.join(first.stage.dir, first.manifest.outputs.model.path);
    const second = await run(root, { preset: "othello-2l-64", initFrom: earlier, train: { trainTokens: 2065 * 3, evalEvery: 3, evalGames: 3, peakLr: 1e-3 } });
    expect(second.manifest.metrics.steps).toBe(3);
    const { tf } = await initTfjs();
    const model = await loadGpt(tf, path.join(second.stage.dir, second.manifest.outputs.model.path));
    expect(model.config.training).toMatchObject({ steps: 3, peakLr: 1e-3, continued_from: { steps: 2, checkpoint: earlier, metrics: { step: 2 } } });
    disposeGpt(model);
  });

  it("evaluates a given checkpoint, and reruns when its weights change", async () => {
    const root = await temporaryDir();
    const { tf } = await initTfjs();
    const checkpoint = path.join(root, "ckpt");
    const model = createGpt(tf, presetConfig("othello-2l-64", 3));
    await saveGpt(model, checkpoint);
    const first = await run(root, { checkpoint });
    expect(first.stage.outcome).toBe("ran");
    expect(first.manifest.metrics.steps).toBe(0);
    expect((await run(root, { checkpoint })).stage.outcome).toBe("skipped");
    model.params.get("unembed.b_U")!.assign(tf.ones([61]));
    await saveGpt(model, checkpoint);
    disposeGpt(model);
    expect((await run(root, { checkpoint })).stage.outcome).toBe("ran");
  });
});
