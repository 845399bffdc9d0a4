// Activation normalisation (spec sae.md §1.4; sae/normalize.ts and its use in sae/sweep.ts): c from the first 100
// batches, x/c for the trainers that ask for it while the others see raw batches of the same stream, c in
// training.json and read back on resume, and folding c into the weights: features ×c, reconstructions in raw units.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { estimateActivationScale, foldActivationScale, NormalizationError, scaleActivations } from "../../sae/normalize.js";
import { createSae, type SaeParams, type SaeSpec } from "../../sae/params.js";
import { parseSweepConfig, runSweep, type ActivationSource } from "../../sae/sweep.js";
import { jumpReluConfigSchema, JumpReluTrainer } from "../../sae/trainers/jumprelu.js";
import { standardConfigSchema, StandardTrainer } from "../../sae/trainers/standard.js";
import { expectClose } from "../compute/kernel-conformance.js";
import { directoryFiles } from "../directory-files.js";
import { temporaryDirs } from "../temporary-dir.js";
import { uniformArray } from "./reference.js";

const d = 8;
const B = 16;
const SCALE = 7; // raw activations are ~7× the unit-scale test data
const batchAt = (n: number) => uniformArray(B * d, 6000 + n, SCALE);

/** Seeded endless batches (batch n depends only on n); counts reads and closes. */
class ArraySource implements ActivationSource {
  readonly hook = "blocks.2.hook_resid_post";
  readonly d = d;
  batchesRead = 0;
  closed = 0;
  constructor(private readonly killAt?: number) {}
  async next(batchSize: number): Promise<Float32Array | null> {
    if (this.batchesRead === this.killAt) throw new Error(`killed before batch ${this.killAt}`);
    expect(batchSize).toBe(B);
    return batchAt(this.batchesRead++);
  }
  close(): void {
    this.closed++;
  }
}

/** c = √(mean over the first 100 batches of mean_b ‖x‖²), in float64 straight from the definition. */
function expectedScale(): number {
  let total = 0;
  for (let n = 0; n < 100; n++) {
    const batch = batchAt(n);
    let sum = 0;
    for (let b = 0; b < B; b++) {
      let row = 0;
      for (let j = 0; j < d; j++) row += batch[b * d + j] ** 2;
      sum += row;
    }
    total += sum / B;
  }
  return Math.sqrt(total / 100);
}

const freshDir = temporaryDirs("sae-normalize-");

describe("estimateActivationScale", () => {
  it("is √(mean over the first `count` batches of mean_b ‖x‖²), stopping where the data ends", async () => {
    let n = 0;
    const { scale, batches } = await estimateActivationScale(async () => batchAt(n++), d, 100, "test");
    expect(batches).toBe(100);
    expect(n).toBe(100);
    expect(scale).toBeCloseTo(expectedScale(), 10);
    expect(scale).toBeGreaterThan(SCALE); // E‖x‖² = d·SCALE²/3 → c ≈ 1.63·SCALE
    const short = [Float32Array.from([3, 4]), Float32Array.from([0, 0, 6, 8])]; // d = 2: mean_b ‖x‖² = 25, then 50
    expect(await estimateActivationScale(async () => short.shift() ?? null, 2, 100, "test")).toEqual({ scale: Math.sqrt(37.5), batches: 2 });
  });

  it("refuses no data and all-zero data, naming the source", async () => {
    await expect(estimateActivationScale(async () => null, d, 100, "activation source for h")).rejects.toThrow(/activation source for h: no batch/);
    await expect(estimateActivationScale(async () => new Float32Array(d), d, 3, "zeros")).rejects.toThrow(NormalizationError);
  });
});

describe("folding c into the weights (spec §1.4)", () => {
  const dSae = 20;
  const c = 5.5;
  const x = uniformArray(B * d, 77, c); // raw activations
  const trainingUnits = scaleActivations(x, c);
  const specs: { spec: SaeSpec; params: SaeParams }[] = [
    {
      spec: { architecture: "jumprelu", dIn: d, dSae, applyBDecToInput: false },
      params: { W_enc: uniformArray(d * dSae, 1, 0.6), b_enc: uniformArray(dSae, 2, 0.2), W_dec: uniformArray(dSae * d, 3, 0.6), b_dec: uniformArray(d, 4, 0.3), threshold: uniformArray(dSae, 5, 0.2).map(Math.abs) },
    },
    {
      spec: { architecture: "jumprelu", dIn: d, dSae, applyBDecToInput: true },
      params: { W_enc: uniformArray(d * dSae, 6, 0.6), b_enc: uniformArray(dSae, 7, 0.2), W_dec: uniformArray(dSae * d, 8, 0.6), b_dec: uniformArray(d, 9, 0.3), threshold: uniformArray(dSae, 10, 0.2).map(Math.abs) },
    },
    {
      spec: { architecture: "standard", dIn: d, dSae, applyBDecToInput: true },
      params: { W_enc: uniformArray(d * dSae, 11, 0.6), b_enc: uniformArray(dSae, 12, 0.2), W_dec: uniformArray(dSae * d, 13, 0.6), b_dec: uniformArray(d, 14, 0.3) },
    },
    {
      spec: { architecture: "gated", dIn: d, dSae, applyBDecToInput: true },
      params: { W_enc: uniformArray(d * dSae, 15, 0.6), b_gate: uniformArray(dSae, 16, 0.2), b_mag: uniformArray(dSae, 17, 0.2), r_mag: uniformArray(dSae, 18, 0.3), W_dec: uniformArray(dSae * d, 19, 0.6), b_dec: uniformArray(d, 20, 0.3) },
    },
  ];

  for (const { spec, params } of specs) {
    it(`${spec.architecture}${spec.applyBDecToInput ? "" : " (b_dec not applied)"}: on raw x the folded SAE gives c × the trained SAE's features on x/c and x̂ in raw units`, () => {
      const trained = createSae(referenceKernels, spec, params);
      const folded = createSae(referenceKernels, spec, foldActivationScale(params, c));
      const featuresTrained = trained.encode(trainingUnits, B);
      const featuresFolded = folded.encode(x, B);
      expect(featuresTrained.filter((value) => value !== 0).length).toBeGreaterThan(20);
      expectClose(featuresFolded, featuresTrained.map((value) => value * c), 1e-5, 1e-5);
      const reconstructionTrained = trained.decode(featuresTrained, B);
      expectClose(folded.decode(featuresFolded, B), reconstructionTrained.map((value) => value * c), 1e-5, 1e-5);
      // the weights are untouched, the trained params are not modified
      expect(foldActivationScale(params, c).W_enc).toEqual(params.W_enc);
      expect(createSae(referenceKernels, spec, params).encode(trainingUnits, B)).toEqual(featuresTrained);
    });
  }

  it("scales exactly b_dec, b_enc, b_gate, b_mag and threshold", () => {
    const params = specs[0].params;
    const folded = foldActivationScale(params, c);
    for (const name of ["b_dec", "b_enc", "threshold"] as const) expect(folded[name]).toEqual(params[name]!.map((value) => value * c));
    expect(folded.W_dec).toEqual(params.W_dec);
    expect(() => foldActivationScale(params, 0)).toThrow(/c = 0/);
  });
});

describe("a sweep with normalising and raw trainers", async () => {
  const config = parseSweepConfig(
    {
      steps: 12,
      batchSize: B,
      logSteps: 5,
      checkpointSteps: 5,
      trainers: [
        { trainer: "jumprelu", dSae: 16, lr: 1e-2, bandwidth: 0.05, initialThreshold: 0.05 }, // normalize: default
        { trainer: "standard", dSae: 16, lambda: 0.2, lr: 1e-2 },
        { trainer: "jumprelu", dSae: 16, lr: 1e-2, bandwidth: 0.05, initialThreshold: 0.05, normalize: "none" },
      ],
    },
    "sweep",
  );
  const copies: ArraySource[] = [];
  const openSource = () => {
    const copy = new ArraySource();
    copies.push(copy);
    return copy;
  };
  const straightDir = await freshDir();
  const source = new ArraySource();
  const straight = await runSweep({ config, source, outDir: straightDir, kernels: referenceKernels, openSource });
  const straightFiles = await directoryFiles(straightDir);
  const training = (i: number) => JSON.parse(straightFiles.get(`trainer_${i}/training.json`)!.toString());

  it("estimates c from the first 100 batches of a second copy of the stream, closes it, and trains from batch 0", () => {
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ batchesRead: 100, closed: 1 });
    expect(source.batchesRead).toBe(12);
    expect(source.closed).toBe(0);
    const c = training(0).normalization.scale;
    expect(c).toBeCloseTo(expectedScale(), 10);
    expect(training(0).normalization).toEqual({ normalize: "unit-mean-squared-norm", scale: c, batches: 100 });
    expect(training(1).normalization).toBeNull();
    expect(training(2).normalization).toBeNull();
    expect(straight.activationScales).toEqual([c, null, null]);
  });

  it("feeds x/c to the normalising trainer and the raw batches to the others: each equals a trainer run alone", () => {
    const c = training(0).normalization.scale;
    const context = { kernels: referenceKernels, dIn: d, totalSteps: 12, batchSize: B };
    const normalised = new JumpReluTrainer(jumpReluConfigSchema.parse(config.trainers[0]), context);
    const standard = new StandardTrainer(standardConfigSchema.parse(config.trainers[1]), context);
    const raw = new JumpReluTrainer(jumpReluConfigSchema.parse(config.trainers[2]), context);
    for (let n = 0; n < 12; n++) {
      const batch = batchAt(n);
      normalised.step(batch.map((value) => value / c), B);
      standard.step(batch, B);
      raw.step(batch, B);
    }
    expect(straight.trainers[0].state()).toEqual(normalised.state());
    expect(straight.trainers[1].state()).toEqual(standard.state());
    expect(straight.trainers[2].state()).toEqual(raw.state());
  });

  it("a run killed mid-way resumes with the recorded c (no second estimate) and equals the uninterrupted run", async () => {
    const dir = await freshDir();
    const opened: ArraySource[] = [];
    const open = () => {
      const copy = new ArraySource();
      opened.push(copy);
      return copy;
    };
    await expect(runSweep({ config, source: new ArraySource(8), outDir: dir, kernels: referenceKernels, openSource: open })).rejects.toThrow(/killed before batch 8/);
    expect(opened).toHaveLength(1);
    const resumed = await runSweep({ config, source: new ArraySource(), outDir: dir, kernels: referenceKernels, openSource: open });
    expect(opened).toHaveLength(1);
    expect(resumed).toMatchObject({ resumedFrom: 5, completed: true, activationScales: straight.activationScales });
    expect(await directoryFiles(dir)).toEqual(straightFiles);
  });

  it("without openSource a normalising sweep is refused, naming the trainers", async () => {
    await expect(runSweep({ config, source: new ArraySource(), outDir: await freshDir(), kernels: referenceKernels })).rejects.toThrow(
      /trainers \[0\] normalise activations \(spec §1.4\): runSweep needs openSource/,
    );
  });
});
