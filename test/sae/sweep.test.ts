// Sweeps in lock-step (spec sae.md §1.5; sae/sweep.ts): training.json before step 0, log.jsonl, checkpoints; a run
// killed mid-way (or aborted) and resumed equals an uninterrupted one byte for byte; NaN/Inf stops training at the
// step and keeps the last good checkpoint; a source of the wrong width is refused naming both widths.

import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import {
  ActivationMismatchError,
  NonFiniteError,
  parseSweepConfig,
  ResumeMismatchError,
  runSweep,
  SweepDataError,
  type ActivationSource,
  type SweepConfig,
} from "../../sae/sweep.js";
import { uniformArray } from "./reference.js";
import { directoryFiles } from "../directory-files.js";
import { temporaryDirs } from "../temporary-dir.js";

const d = 8;
const B = 16;

/** Seeded batches; batch n depends only on n. Optional failure modes and a skipBatches hook. */
class ArraySource implements ActivationSource {
  readonly hook = "blocks.1.hook_resid_post";
  batchesRead = 0;
  skipBatches?: (count: number, batchSize: number) => Promise<void>;

  constructor(
    readonly d: number,
    private readonly options: { killAt?: number; nanAt?: number; hugeAt?: number; length?: number; skippable?: boolean } = {},
  ) {
    if (options.skippable) {
      this.skipBatches = async (count: number) => {
        this.batchesRead += count;
      };
    }
  }

  async next(batchSize: number): Promise<Float32Array | null> {
    const n = this.batchesRead;
    if (n === this.options.killAt) throw new Error(`killed before batch ${n}`);
    if (this.options.length !== undefined && n >= this.options.length) return null;
    this.batchesRead++;
    const batch = uniformArray(batchSize * this.d, 5000 + n);
    if (n === this.options.nanAt) batch[3 * this.d + 5] = Number.NaN;
    if (n === this.options.hugeAt) batch.fill(1e38);
    return batch;
  }

  close(): void {}
}

const config: SweepConfig = parseSweepConfig(
  {
    steps: 30,
    batchSize: B,
    logSteps: 4,
    checkpointSteps: 7,
    dIn: d,
    trainers: [
      { trainer: "standard", dSae: 24, lambda: 0.2, lr: 1e-2 },
      { trainer: "p_anneal", dSae: 24, alpha: 0.1, lr: 1e-2 }, // annealStart ⌊10,000·30/36,621⌋ = 8: updates span the checkpoints
      { trainer: "standard", dSae: 16, lambda: 0.3, lr: 1e-2, resampleSteps: 6, resamplePoolBatches: 2, seed: 7 },
      { trainer: "p_anneal", dSae: 16, alpha: 0.05, lr: 1e-2, recon: "l2", sparsityFunction: "Lp" },
    ],
  },
  "sweep",
);

const freshDir = temporaryDirs("sae-sweep-");


const run = (outDir: string, source: ActivationSource, extra: Partial<Parameters<typeof runSweep>[0]> = {}) =>
  runSweep({ config, source, outDir, kernels: referenceKernels, ...extra });

describe("a sweep", async () => {
  const straightDir = await freshDir();
  let trainingBeforeStep0: unknown;
  const straight = await run(straightDir, new ArraySource(d), {
    onStep: (step) => {
      if (step === 0) trainingBeforeStep0 = JSON.parse(readFileSync(path.join(straightDir, "trainer_3/training.json"), "utf8"));
    },
  });
  const straightFiles = await directoryFiles(straightDir);

  it("trains every trainer on the same batches and writes trainer_<i>/ with training.json, log.jsonl, a final checkpoint", async () => {
    expect(straight).toMatchObject({ stepsDone: 30, completed: true, resumedFrom: null });
    expect(trainingBeforeStep0).toMatchObject({ trainer: { trainer: "p_anneal", recon: "l2", sparsityFunction: "Lp" }, final: null });
    for (let i = 0; i < 4; i++) {
      expect(straightFiles.has(`trainer_${i}/training.json`)).toBe(true);
      expect(straightFiles.has(`trainer_${i}/checkpoints/step-30/state.safetensors`)).toBe(true);
      expect([...straightFiles.keys()].filter((file) => file.startsWith(`trainer_${i}/checkpoints/`))).toHaveLength(2);
    }
    expect(JSON.parse(straightFiles.get("checkpoint.json")!.toString())).toMatchObject({ step: 30, batchSize: B, dIn: d, trainers: 4 });
  });

  it("training.json holds the resolved config, the sweep settings, and the initial and final p and α", () => {
    const record = JSON.parse(straightFiles.get("trainer_1/training.json")!.toString());
    expect(record.trainer).toMatchObject({ trainer: "p_anneal", dIn: d, dSae: 24, totalSteps: 30, batchSize: B, annealStart: 8, recon: "l2sq" });
    expect(record.sweep).toMatchObject({ index: 1, steps: 30, hook: "blocks.1.hook_resid_post", compute: { provider: "reference" } });
    expect(record.initial).toEqual({ p: 1, next_p: null, alpha: 0.1, k: 0 });
    expect(record.final.k).toBe(9);
    expect(record.final.p).toBeCloseTo(1 - (8 * 0.8) / 9, 12);
    expect(record.final.alpha).not.toBe(0.1);
  });

  it("logs every logSteps steps and the last, with tokens, loss terms, L0, FVE and trainer state", () => {
    const lines = straightFiles.get("trainer_1/log.jsonl")!.toString().trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.map((line) => line.step)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 29]);
    expect(lines[2]).toMatchObject({ step: 8, tokens: 9 * B, p: 1, next_p: null });
    for (const key of ["lr", "loss", "reconstruction", "mse", "sparsity", "sparsityScale", "l0", "fve", "alpha", "S_p"]) expect(typeof lines[3][key]).toBe("number");
    // U = 8, 10, 12, ...: step 12 runs with p = P[1] and next_p = P[2] (set by the update at step 10)
    expect(lines[3].p).toBeCloseTo(1 - 0.8 / 9, 12);
    expect(lines[3].next_p).toBeCloseTo(1 - 1.6 / 9, 12);
  });

  it("a run killed mid-way and resumed (consumed batches read and discarded) equals the uninterrupted run byte for byte", async () => {
    const dir = await freshDir();
    await expect(run(dir, new ArraySource(d, { killAt: 17 }))).rejects.toThrow(/killed before batch 17/);
    expect(JSON.parse(await readFile(path.join(dir, "checkpoint.json"), "utf8")).step).toBe(14);
    const logged = (await readFile(path.join(dir, "trainer_0/log.jsonl"), "utf8")).trim().split("\n");
    expect(JSON.parse(logged.at(-1)!).step).toBe(16); // logged after the checkpoint: dropped on resume
    const source = new ArraySource(d);
    const resumed = await run(dir, source);
    expect(resumed).toMatchObject({ stepsDone: 30, completed: true, resumedFrom: 14 });
    expect(source.batchesRead).toBe(30);
    expect(await directoryFiles(dir)).toEqual(straightFiles);
    for (let i = 0; i < 4; i++) expect(resumed.trainers[i].state()).toEqual(straight.trainers[i].state());
  });

  it("an aborted run checkpoints where it stopped; resuming through skipBatches equals the uninterrupted run", async () => {
    const dir = await freshDir();
    const controller = new AbortController();
    const stopped = await run(dir, new ArraySource(d), { signal: controller.signal, onStep: (step) => step === 10 && controller.abort() });
    expect(stopped).toMatchObject({ stepsDone: 11, completed: false });
    expect(JSON.parse(await readFile(path.join(dir, "checkpoint.json"), "utf8")).step).toBe(11);
    const source = new ArraySource(d, { skippable: true });
    const resumed = await run(dir, source);
    expect(resumed.resumedFrom).toBe(11);
    expect(source.batchesRead).toBe(30);
    expect(await directoryFiles(dir)).toEqual(straightFiles);
  });

  it("resuming with a different trainer config is refused, naming the file", async () => {
    const dir = await freshDir();
    await run(dir, new ArraySource(d, { killAt: 9 })).catch(() => undefined);
    const changed = { ...config, trainers: [{ ...config.trainers[0], lr: 2e-2 }, ...config.trainers.slice(1)] } as SweepConfig;
    await expect(runSweep({ config: changed, source: new ArraySource(d), outDir: dir, kernels: referenceKernels })).rejects.toThrow(ResumeMismatchError);
    await expect(runSweep({ config: changed, source: new ArraySource(d), outDir: dir, kernels: referenceKernels })).rejects.toThrow(/trainer_0\/training.json/);
  });
});

describe("bad input", () => {
  it("a NaN in a batch stops training naming the step and keeps the last good checkpoint", async () => {
    const dir = await freshDir();
    const error = await run(dir, new ArraySource(d, { nanAt: 12 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect((error as NonFiniteError).step).toBe(12);
    expect((error as Error).message).toMatch(/step 12: batch 12 of blocks.1.hook_resid_post has a non-finite activation at row 3, column 5 \(NaN\).*last good checkpoint: step 7/);
    expect(JSON.parse(await readFile(path.join(dir, "checkpoint.json"), "utf8")).step).toBe(7);
    expect(await readdir(path.join(dir, "trainer_2/checkpoints"))).toEqual(["step-7"]);
  });

  it("a loss that turns non-finite stops training naming the step and the trainer", async () => {
    const dir = await freshDir();
    const error = await run(dir, new ArraySource(d, { hugeAt: 9 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect((error as Error).message).toMatch(/^step (9|10): trainer_0 \(standard\) has loss (NaN|Infinity)/);
    expect(JSON.parse(await readFile(path.join(dir, "checkpoint.json"), "utf8")).step).toBe(7);
  });

  it("a source whose width differs from the SAEs' d_in is refused naming both", async () => {
    await expect(run(await freshDir(), new ArraySource(12))).rejects.toThrow(ActivationMismatchError);
    await expect(run(await freshDir(), new ArraySource(12))).rejects.toThrow(/d = 12, the sweep's SAEs have d_in = 8/);
  });

  it("a bad sweep config lists every problem with its path", () => {
    expect(() => parseSweepConfig({ steps: 0, trainers: [{ trainer: "standard" }] }, "sweep.json")).toThrow(/sweep.json.steps: [^\n]*\nsweep.json.trainers.0.dSae/);
  });

  it("a source that ends early is an error naming how many batches it gave", async () => {
    await expect(run(await freshDir(), new ArraySource(d, { length: 20 }))).rejects.toThrow(SweepDataError);
    await expect(run(await freshDir(), new ArraySource(d, { length: 20 }))).rejects.toThrow(/ended after 20 batches; the sweep needs 30/);
  });
});
