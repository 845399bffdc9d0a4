// p-annealing (spec sae.md §2.2): the U[k]/P[k] schedule of the reference run, and a short run (S = 40, anneal_start
// scaled to 10, n = 10) step by step against a hand-written table of p, with α recomputed from the spec's rule by
// this test: the first update only arms next_p, α comes from the last 10 batches including the current one, new
// p/α take effect from the next step, and the last update (at U[9] = S) never fires.

import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { annealPValues, annealUpdateSteps, PAnnealSchedule } from "../../sae/anneal.js";
import { pAnnealConfigSchema, PAnnealTrainer } from "../../sae/trainers/p-anneal.js";
import { penalty64, rowNorms, uniformArray } from "./reference.js";

describe("the reference schedule (S = 36,621)", () => {
  it("U[k] truncates and P[k] is linear, as the spec lists", () => {
    expect(annealUpdateSteps(10_000, 36_621, 10)).toEqual([10000, 12957, 15915, 18873, 21831, 24789, 27747, 30705, 33663, 36621]);
    const p = annealPValues(1, 0.2, 10).map((value) => Number(value.toFixed(4)));
    expect(p).toEqual([1, 0.9111, 0.8222, 0.7333, 0.6444, 0.5556, 0.4667, 0.3778, 0.2889, 0.2]);
  });

  it("the effective p by step matches the spec's table; the final trained p is 0.2889", () => {
    const schedule = new PAnnealSchedule({ pStart: 1, pEnd: 0.2, annealStart: 10_000, annealEnd: 36_621, nUpdates: 10, queueLength: 10, alpha: 0.03 });
    const table: [number, number, number][] = [
      [0, 12957, 1], [12958, 15915, 0.9111], [15916, 18873, 0.8222], [18874, 21831, 0.7333], [21832, 24789, 0.6444],
      [24790, 27747, 0.5556], [27748, 30705, 0.4667], [30706, 33663, 0.3778], [33664, 36620, 0.2889],
    ];
    const pByStep: number[] = [];
    for (let step = 0; step < 36_621; step++) {
      pByStep.push(schedule.p);
      schedule.advance(step, 1, schedule.nextP === null ? null : 1);
    }
    for (const [from, to, p] of table) {
      expect(Number(pByStep[from].toFixed(4))).toBe(p);
      expect(Number(pByStep[to].toFixed(4))).toBe(p);
      if (from > 0) expect(pByStep[from - 1]).not.toBe(pByStep[from]);
    }
    expect(schedule.k).toBe(9);
    expect(Number(schedule.p.toFixed(4))).toBe(0.2889);
    expect(schedule.nextP).toBe(0.2);
  });

  it('n = "continuous" updates at every step from anneal_start to anneal_end', () => {
    expect(annealUpdateSteps(5, 9, 9 - 5 + 1)).toEqual([5, 6, 7, 8, 9]);
  });
});

describe("a short p-anneal run (S = 40, n = 10) against the hand-computed schedule", () => {
  const S = 40;
  const B = 16;
  const dIn = 8;
  const dSae = 24;
  const initialAlpha = 0.05;
  // annealStart = ⌊10,000·40/36,621⌋ = 10; U[k] = trunc(10 + k·30/9); P[k] = 1 + k·(0.2 − 1)/9
  const U = [10, 13, 16, 20, 23, 26, 30, 33, 36, 40];
  const P = Array.from({ length: 10 }, (_, k) => (k === 9 ? 0.2 : 1 + (k * (0.2 - 1)) / 9)); // P[9] = p_end exactly
  // p used at each step: U[k] changes p from step U[k] + 1; U[0] only arms next_p; U[9] = 40 is never reached
  const pTable: [number, number, number][] = [
    [0, 13, P[0]], [14, 16, P[1]], [17, 20, P[2]], [21, 23, P[3]], [24, 26, P[4]],
    [27, 30, P[5]], [31, 33, P[6]], [34, 36, P[7]], [37, 39, P[8]],
  ];
  const pAt = (step: number) => pTable.find(([from, to]) => from <= step && step <= to)![2];
  // next_p used at each step: none until the end of step 10, then P[k+1] after update k
  const nextPAt = (step: number) => (step <= 10 ? null : P[U.findIndex((u, k) => u < step && step <= U[k + 1]) + 1]);

  const trainer = new PAnnealTrainer(pAnnealConfigSchema.parse({ trainer: "p_anneal", dSae, alpha: initialAlpha, lr: 1e-2 }), {
    kernels: referenceKernels, dIn, totalSteps: S, batchSize: B,
  });
  // per step: the expected p, next_p, α (this test's), S_p (float64), and what the trainer logged
  const rows: {
    step: number; p: number; nextP: number | null; alpha: number; sp: number; sigma: number;
    logged: { p: number | null; nextP: number | null; alpha: number; sp: number; sparsity: number };
  }[] = [];
  const decoderNorms: number[][] = [];
  const stepFeatures: Float32Array[] = [];
  let alpha = initialAlpha;
  const queue: [number, number][] = [];
  let k = 0;
  for (let step = 0; step < S; step++) {
    const batch = uniformArray(B * dIn, 1000 + step);
    const features = trainer.sae().encode(batch, B); // the forward pass the step will make (same weights, same kernels)
    stepFeatures.push(features);
    const log = trainer.step(batch, B);
    decoderNorms.push(rowNorms(trainer.params.W_dec, dIn));
    const p = pAt(step);
    const nextP = nextPAt(step);
    const sp = penalty64(features, B, dSae, "Lp^p", p);
    const sigma = Math.min(step / 2, 1); // W_sp = ⌊2000·40/36,621⌋ = 2
    const logged = { p: log.state.p, nextP: log.state.next_p, alpha: log.state.alpha!, sp: log.state.S_p!, sparsity: log.sparsity };
    rows.push({ step, p, nextP, alpha, sp, sigma, logged });
    // the spec's rule, step 2–3, with this test's own queue
    if (nextP !== null) {
      queue.push([sp, penalty64(features, B, dSae, "Lp^p", nextP)]);
      if (queue.length > 10) queue.shift();
    }
    if (k < 10 && step === U[k]) {
      if (k > 0) alpha *= queue.reduce((sum, [value]) => sum + value, 0) / queue.reduce((sum, [, next]) => sum + next, 0);
      k++;
    }
  }

  it("p and next_p at every step follow the table", () => {
    for (const row of rows) {
      expect(row.logged.p, `p at step ${row.step}`).toBe(row.p);
      expect(row.logged.nextP, `next_p at step ${row.step}`).toBe(row.nextP);
    }
    expect(rows.filter((row) => row.nextP === null).map((row) => row.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("each step's loss uses that step's p and α: sparsity term = α·σ(s)·S_p(f)", () => {
    for (const row of rows) {
      expect(row.logged.sp, `S_p at step ${row.step}`).toBeCloseTo(row.sp, 9);
      expect(row.logged.sparsity, `sparsity term at step ${row.step}`).toBeCloseTo(row.alpha * row.sigma * row.sp, 9);
    }
  });

  it("α at every step equals the α the spec's rule gives, changing only on the step after an update ≥ U[1]", () => {
    for (const row of rows) expect(row.logged.alpha / row.alpha - 1, `α at step ${row.step}`).toBeCloseTo(0, 12);
    const changes = rows.filter((row, i) => i > 0 && row.logged.alpha !== rows[i - 1].logged.alpha).map((row) => row.step);
    expect(changes).toEqual([14, 17, 21, 24, 27, 31, 34, 37]);
    expect(rows[11].logged.alpha).toBe(initialAlpha); // the first update (step 10) only armed next_p
  });

  it("the α rescale at step 13 used exactly the batches of steps 11–13; at step 36 the last 10 (27–36)", () => {
    const at = (step: number) => rows[step];
    const ratio = (from: number, to: number) => {
      let current = 0;
      let next = 0;
      for (let s = from; s <= to; s++) {
        const features = stepFeatures[s];
        current += penalty64(features, B, dSae, "Lp^p", at(s).p);
        next += penalty64(features, B, dSae, "Lp^p", at(s).nextP!);
      }
      return current / next;
    };
    expect(at(14).logged.alpha / (initialAlpha * ratio(11, 13)) - 1).toBeCloseTo(0, 12);
    expect(at(37).logged.alpha / (at(36).logged.alpha * ratio(27, 36)) - 1).toBeCloseTo(0, 12);
  });

  it("the last update never fires: final p = P[8] (0.2889), next_p = p_end, 9 updates done", () => {
    const { alpha: finalAlpha, ...rest } = trainer.trainerState();
    expect(rest).toEqual({ p: P[8], next_p: 0.2, k: 9 });
    expect(finalAlpha! / rows[S - 1].alpha - 1).toBeCloseTo(0, 12);
    expect(trainer.config).toMatchObject({ annealStart: 10, annealEnd: 40, nUpdates: 10, alpha: initialAlpha });
  });

  it("decoder rows have unit norm after every step", () => {
    for (const norms of decoderNorms) for (const norm of norms) expect(norm).toBeCloseTo(1, 6);
  });
});
