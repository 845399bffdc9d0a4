// From a finished sweep to SAELens directories (sae/sweep-results.ts): every trainer of a mixed sweep saved and read
// back; a JumpReLU trained on x/c reads raw activations after the fold (features ×c, reconstructions in raw units,
// spec §1.4); metrics.json equals the metrics of the SAE read back; summary.json lists every trainer.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { readSaeDirectory, SAE_METRICS_FILE } from "../../sae/files.js";
import { reconstructionMetrics } from "../../sae/metrics.js";
import { createSae } from "../../sae/params.js";
import { parseSweepConfig, runSweep, type ActivationSource } from "../../sae/sweep.js";
import { saveSweepResults, SUMMARY_FILE } from "../../sae/sweep-results.js";
import { temporaryDirs } from "../temporary-dir.js";
import { uniformArray } from "./reference.js";

const d = 8;
const B = 32;

/** Batch n depends only on n; activations far from unit norm, so the JumpReLU's scale c matters. */
class ArraySource implements ActivationSource {
  readonly hook = "blocks.0.hook_resid_post";
  readonly d = d;
  private read = 0;
  async next(batchSize: number): Promise<Float32Array> {
    return uniformArray(batchSize * d, 900 + this.read++, 6);
  }
  close(): void {}
}

const temporaryDir = temporaryDirs("sae-results-");

describe("saveSweepResults", () => {
  it("writes each trainer's SAELens directory with metrics, folding the activation scale into normalised trainers", async () => {
    const outDir = await temporaryDir();
    const config = parseSweepConfig(
      {
        steps: 12, batchSize: B, logSteps: 4, checkpointSteps: null, dIn: d,
        trainers: [
          { trainer: "standard", dSae: 16, lambda: 0.05, lr: 1e-2 },
          { trainer: "jumprelu", dSae: 16, lambda: 1e-3, lr: 1e-2 }, // normalize: unit-mean-squared-norm by default
          { trainer: "topk", dSae: 16, k: 3 },
          { trainer: "batch_topk", dSae: 16, k: 3 },
        ],
      },
      "sweep",
    );
    const result = await runSweep({ config, source: new ArraySource(), openSource: () => new ArraySource(), outDir, kernels: referenceKernels });
    const scale = result.activationScales[1]!;
    expect(scale).toBeGreaterThan(1);
    expect(result.activationScales.filter((value) => value !== null)).toHaveLength(1);

    const tokens = 40;
    const rows = uniformArray(tokens * d, 4242, 6);
    const site = { modelName: "m", hookName: "blocks.0.hook_resid_post", contextSize: 59, datasetPath: "ds:val" };
    const summary = await saveSweepResults({ result, outDir, site, evalSet: { rows, tokens, source: "test rows", heldOut: true }, kernels: referenceKernels });
    expect(summary.map((row) => [row.dir, row.trainer, row.architecture])).toEqual([
      ["trainer_0", "standard", "standard"], ["trainer_1", "jumprelu", "jumprelu"], ["trainer_2", "topk", "topk"], ["trainer_3", "batch_topk", "jumprelu"],
    ]);
    expect(JSON.parse(await readFile(path.join(outDir, SUMMARY_FILE), "utf8")).trainers).toEqual(JSON.parse(JSON.stringify(summary)));

    for (const [i, trainer] of result.trainers.entries()) {
      const dir = path.join(outDir, `trainer_${i}`);
      const saved = await readSaeDirectory(dir);
      expect(saved.trainer).toBe(trainer.config.trainer);
      if (trainer.config.trainer.includes("topk")) expect(saved.spec.k).toBe(3); // cfg k (topk), metadata.k (batch_topk)
      const sae = createSae(referenceKernels, saved.spec, saved.params);
      const metricsFile = JSON.parse(await readFile(path.join(dir, SAE_METRICS_FILE), "utf8"));
      const { metrics, density } = reconstructionMetrics(sae, rows, tokens);
      for (const [name, value] of Object.entries(metrics)) expect(metricsFile[name], `trainer_${i} ${name}`).toBeCloseTo(value, 10);
      expect(metricsFile.eval).toEqual({ source: "test rows", heldOut: true, tokens });
      expect(saved.logDensity).toEqual(Float32Array.from(density, (value) => Math.log10(value + 1e-10)));
      expect(metricsFile.feature_density_histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(16);
      if (trainer.config.trainer.includes("topk")) expect(metricsFile.dead_training).toBe(trainer.trainerState().dead_features);

      // The saved SAE on raw x equals the trained one on x/c, features ×c and x̂ ×c (c = 1 for un-normalised ones).
      const c = result.activationScales[i] ?? 1;
      const live = trainer.sae();
      const trained = live.encode(Float32Array.from(rows, (value) => value / c), tokens);
      const features = sae.encode(rows, tokens);
      expect(features.some((value) => value !== 0), `trainer_${i} has active features`).toBe(true);
      for (let k = 0; k < features.length; k++) expect(features[k]).toBeCloseTo(trained[k] * c, 3);
      const trainedReconstruction = live.decode(trained, tokens);
      const reconstruction = sae.decode(features, tokens);
      for (let k = 0; k < reconstruction.length; k++) expect(reconstruction[k]).toBeCloseTo(trainedReconstruction[k] * c, 3);
    }
    const topk = await readSaeDirectory(path.join(outDir, "trainer_2"));
    expect(topk.spec).toMatchObject({ architecture: "topk", k: 3, topkThreshold: result.trainers[2].trainerState().threshold });
    expect((await readSaeDirectory(path.join(outDir, "trainer_3"))).spec).toMatchObject({ architecture: "jumprelu", k: 3, applyBDecToInput: true });
  });
});
