// The eval and probe stages on a tiny run: board metrics of the sweep, the MLP neurons and the same sweep trained on a
// random-init twin (its SAEs record that model), the comparison table, per-layer probes; skipped when run again.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileSha256 } from "../../../io/file-hash.js";
import { readParquetTable } from "../../../io/parquet-table.js";
import { parsePipelineConfig } from "../../../pipeline/config.js";
import { runPipeline } from "../../../pipeline/runner.js";
import { STAGES } from "../../../pipeline/stages/index.js";
import { readSaeDirectory } from "../../../sae/files.js";
import { saveTinyCheckpoint } from "../../model/tiny-checkpoint.js";
import { temporaryDirs } from "../../temporary-dir.js";

const temporaryDir = temporaryDirs("saec-eval-stage-");

describe("eval and probe stages", () => {
  it("score the sweep, the MLP neurons and a random-model sweep, train probes, then skip when nothing changed", async () => {
    const root = await temporaryDir();
    const checkpoint = path.join(root, "trained");
    const random = path.join(root, "random");
    await saveTinyCheckpoint(checkpoint, 8);
    await saveTinyCheckpoint(random, 9);
    const raw = {
      name: "e", runsDir: root, seed: 5,
      stages: {
        games: { count: 120, splits: { train: 0.5, val: 0.2 } },
        model: { checkpoint, evalGames: 2 },
        activations: { maxGames: 8, shardRows: 200, batchSize: 4 },
        sae: { steps: 4, batchSize: 32, trainers: [{ trainer: "standard", dSae: 24 }, { trainer: "topk", dSae: 24, k: 4 }], eval: { games: 2, lossRecovered: false } },
        eval: { labelGames: 6, reconGames: 6, functions: ["mine_masked", "legal"], randomModel: random },
        probe: { trainGames: 6, epochs: 1, labelGames: 6, reconGames: 6 },
      },
    };
    const config = parsePipelineConfig(raw, STAGES);
    const summary = await runPipeline(config, { registry: STAGES });
    const evalStage = summary.stages.find((s) => s.stage === "eval")!;
    expect(evalStage.outcome).toBe("ran");
    const comparison = JSON.parse(await readFile(path.join(evalStage.dir, "board_comparison.json"), "utf8"));
    expect(comparison.map((row: { approach: string; trainer: string }) => `${row.approach}/${row.trainer}`)).toEqual([
      "sae/standard", "sae/topk", "mlp neurons/identity", "random-model sae/standard", "random-model sae/topk",
    ]);
    expect((await readParquetTable(path.join(evalStage.dir, "board_comparison.parquet"))).numRows).toBe(5);
    for (const dir of ["sae/trainer_0", "sae/trainer_1", "mlp-neurons", "random-model/eval/trainer_0"]) {
      const metrics = JSON.parse(await readFile(path.join(evalStage.dir, dir, "board_metrics.json"), "utf8"));
      expect(Object.keys(metrics.functions)).toEqual(["mine_masked", "legal"]);
      expect(metrics.splits).toMatchObject({ split: "test", n_label_games: 6, n_recon_games: 6 });
    }
    const randomSae = await readSaeDirectory(path.join(evalStage.dir, "random-model", "saes", "trainer_0"));
    expect(randomSae.site.modelSha256).toBe(await fileSha256(path.join(random, "model.safetensors")));
    const manifest = JSON.parse(await readFile(path.join(evalStage.dir, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.inputs).sort()).toEqual(["activations", "games", "model", "sae"]);
    expect(manifest.metrics["sae.0.coverage_ref"]).toBe(comparison[0].coverage_ref);

    const probeStage = summary.stages.find((s) => s.stage === "probe")!;
    const probes = JSON.parse(await readFile(path.join(probeStage.dir, "probes", "probe_metrics.json"), "utf8"));
    expect(Object.keys(probes.hooks)).toEqual(["blocks.0.hook_resid_post"]);
    expect(probes.train).toMatchObject({ split: "val", games: 6, epochs: 1 });
    const probeManifest = JSON.parse(await readFile(path.join(probeStage.dir, "manifest.json"), "utf8"));
    expect(probeManifest.metrics["blocks.0.hook_resid_post.accuracy"]).toBe(probes.hooks["blocks.0.hook_resid_post"].accuracy);

    const again = await runPipeline(config, { registry: STAGES });
    expect(again.stages.filter((s) => s.outcome !== "skipped").map((s) => s.stage)).toEqual([]);
  });
});
