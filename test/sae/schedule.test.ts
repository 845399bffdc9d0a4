// Schedules of spec sae.md §1.3 (sae/schedule.ts) and how trainer configs resolve them: LR warm-up from 0, decay,
// warm-up restarts with resampling, sparsity warm-up, short-run scaling of values not set explicitly, presets.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { checkLrSchedule, lrFactor, REFERENCE_STEPS, ScheduleError, shortRunScaled, sparsityFactor, type LrSchedule } from "../../sae/schedule.js";
import { parseTrainerConfig, createTrainer } from "../../sae/trainers/index.js";
import { TrainerConfigError } from "../../sae/trainers/trainer.js";

const schedule = (overrides: Partial<LrSchedule>): LrSchedule => ({ warmupSteps: 4, decayStart: null, totalSteps: 20, resampleSteps: null, ...overrides });

describe("λ(s) and σ(s)", () => {
  it("warm-up from 0 at step 0, then 1", () => {
    expect([0, 1, 2, 3, 4, 5, 19].map((s) => lrFactor(s, schedule({})))).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1]);
  });

  it("linear decay to 0 at S from s_decay", () => {
    const decaying = schedule({ decayStart: 10 });
    expect([9, 10, 15, 19].map((s) => lrFactor(s, decaying))).toEqual([1, 1, 0.5, 0.1]);
  });

  it("with resampling every R steps the warm-up restarts: min((s mod R)/W_lr, 1)", () => {
    const resampling = schedule({ resampleSteps: 6 });
    expect([0, 2, 4, 5, 6, 7, 12].map((s) => lrFactor(s, resampling))).toEqual([0, 0.5, 1, 1, 0, 0.25, 0]);
  });

  it("W_lr = 0 means no warm-up", () => {
    expect(lrFactor(0, schedule({ warmupSteps: 0 }))).toBe(1);
  });

  it("σ(s) = min(s/W_sp, 1), and 1 for W_sp = 0", () => {
    expect([0, 1, 5, 10, 11].map((s) => sparsityFactor(s, 10))).toEqual([0, 0.1, 0.5, 1, 1]);
    expect(sparsityFactor(0, 0)).toBe(1);
  });

  it("rejects decay with resampling, and decay outside (W_lr, S)", () => {
    expect(() => checkLrSchedule(schedule({ decayStart: 10, resampleSteps: 5 }), "t")).toThrow(ScheduleError);
    expect(() => checkLrSchedule(schedule({ decayStart: 3 }), "t")).toThrow(/lrDecayStart = 3/);
    expect(() => checkLrSchedule(schedule({ decayStart: 20 }), "t")).toThrow(/lrDecayStart = 20/);
  });
});

describe("short-run scaling (spec §1.3)", () => {
  it("multiplies by S/S_ref, floors, keeps at least 1; leaves runs of S_ref or more alone", () => {
    expect(shortRunScaled(1000, 40)).toBe(1); // 1.09
    expect(shortRunScaled(2000, 40)).toBe(2); // 2.18
    expect(shortRunScaled(10_000, 40)).toBe(10); // 10.92
    expect(shortRunScaled(10_000_000, 40)).toBe(10_922); // dead window in tokens
    expect(shortRunScaled(1000, 10)).toBe(1); // 0.27 → minimum 1
    expect(shortRunScaled(1000, 3662)).toBe(99); // 99.997
    expect(shortRunScaled(1000, REFERENCE_STEPS)).toBe(1000);
    expect(shortRunScaled(1000, 2 * REFERENCE_STEPS)).toBe(1000);
  });

  const context = { kernels: referenceKernels, dIn: 4, totalSteps: 3662, batchSize: 8 };

  it("applies to values not set explicitly, and records which", () => {
    const trainer = createTrainer(parseTrainerConfig({ trainer: "p_anneal", dSae: 8 }, "t"), context);
    expect(trainer.config).toMatchObject({ lrWarmupSteps: 99, sparsityWarmupSteps: 199, annealStart: 999, annealEnd: 3662, nUpdates: 10 });
    expect(trainer.config.shortRun).toEqual({ referenceSteps: REFERENCE_STEPS, scaled: ["lrWarmupSteps", "sparsityWarmupSteps", "annealStart"] });
  });

  it("never scales explicit values", () => {
    const trainer = createTrainer(parseTrainerConfig({ trainer: "p_anneal", dSae: 8, lrWarmupSteps: 1000, sparsityWarmupSteps: 5, annealStart: 2000 }, "t"), context);
    expect(trainer.config).toMatchObject({ lrWarmupSteps: 1000, sparsityWarmupSteps: 5, annealStart: 2000 });
    expect(trainer.config.shortRun.scaled).toEqual([]);
  });

  it("defaults: current library (l2sq, tied, lr 1e-3, Adam (0.9, 0.999), exact-norm decoder); paper-era preset", () => {
    const current = createTrainer(parseTrainerConfig({ trainer: "standard", dSae: 8 }, "t"), { ...context, totalSteps: REFERENCE_STEPS });
    expect(current.config).toMatchObject({
      recon: "l2sq", init: "tied", lr: 1e-3, lambda: 0.1, seed: 42, lrWarmupSteps: 1000, sparsityWarmupSteps: 2000,
      adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, decoder: { projectionEps: 0, renormEps: 0, clipGradNorm: null },
      architecture: "standard", resampleSteps: null,
    });
    const paper = createTrainer(parseTrainerConfig({ trainer: "standard", dSae: 8, preset: "paper-era" }, "t"), { ...context, totalSteps: REFERENCE_STEPS });
    expect(paper.config).toMatchObject({ recon: "l2", init: "paper", sparsityWarmupSteps: 0, lrWarmupSteps: 1000 });
    const override = createTrainer(parseTrainerConfig({ trainer: "standard", dSae: 8, preset: "paper-era", recon: "l2sq" }, "t"), context);
    expect(override.config).toMatchObject({ recon: "l2sq", init: "paper" });
  });

  it("config errors name the field and value", () => {
    expect(() => parseTrainerConfig({ trainer: "standard", dSae: 0 }, "trainers[2]")).toThrow(/trainers\[2\]\.dSae/);
    expect(() => parseTrainerConfig({ trainer: "standard", dSae: 8, lamda: 1 }, "trainers[0]")).toThrow(TrainerConfigError);
    expect(() => parseTrainerConfig({ trainer: "nope", dSae: 8 }, "trainers[0]")).toThrow(/trainers\[0\]\.trainer/);
    expect(() => createTrainer(parseTrainerConfig({ trainer: "p_anneal", dSae: 8, annealStart: 50, annealEnd: 40 }, "t"), context)).toThrow(/annealEnd = 40 comes before annealStart = 50/);
    expect(() => createTrainer(parseTrainerConfig({ trainer: "standard", dSae: 8, lrDecayStart: 100, resampleSteps: 50 }, "t"), context)).toThrow(TrainerConfigError);
  });
});
