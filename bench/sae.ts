// The SAE benchmark (issue 6): training steps/s and activations/s of the standard ReLU + L1 step at d_in 512,
// 8× expansion (4096 features), batch 4096, on the dense path and on the sparse-kernel path (spec sae.md §7), each
// against the same step in PyTorch (bench/reference/sae_step.py started from the very same parameters and batch, so
// the losses are comparable), plus the active fraction at which the sparse path starts to pay on this machine.
//
// Sparse f without hours of training: a "trained-like" state is the tied init with b_enc moved so that every feature
// fires on exactly round(L0·B/d_sae) tokens of the batch (b_enc,i = −midpoint of the column's k-th and (k+1)-th largest
// pre-activation). The cost of a step depends on nnz = B·L0 and the shapes, not on what the features mean. The steps
// run at lr 1e-5 so that the few timed Adam updates keep L0 near its target; the L0 measured during the timed steps
// is reported. Tiny runs: SAEC_BENCH_SAE="batch=256 dIn=64 dSae=512 l0=8,32 steps=2" npm run bench -- sae

import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Kernels } from "../compute/kernels.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { writeJsonAtomic } from "../io/atomic-write.js";
import { fillNormal } from "../model/init.js";
import { meanL0 } from "../sae/batch-stats.js";
import { SaeRandom } from "../sae/random.js";
import { initReluSae, type ReluSaeParams } from "../sae/trainers/relu-sae.js";
import { SPARSE_BREAK_EVEN, type ChosenKernelPath } from "../sae/trainers/sparse-relu-sae.js";
import { benchMachine, machineLine, type BenchMachine } from "./machine.js";
import { SaeStepWorkload, type SaeStepShape } from "./sae-step.js";
import { referenceScript, SYSTEM_PYTHON, torchMissingReason } from "./torch-reference.js";

export interface SaeBenchOptions {
  shape: SaeStepShape;
  /** L0 targets of the trained-like states the steps are timed at. */
  l0Targets: number[];
  /** Untimed steps first, then timed steps (per path and state; PyTorch the same). */
  warmupSteps: number;
  timedSteps: number;
  l1Coefficient: number;
  lr: number;
  /** Active fractions nnz/(B·d_sae) at which one forward + backward is timed on both paths (the break-even). */
  breakEvenFractions: number[];
  /** Where the JSON results go. */
  outputFile: string;
}

export function defaultSaeBenchOptions(): SaeBenchOptions {
  return {
    shape: { batch: 4096, dIn: 512, dSae: 4096 },
    l0Targets: [16, 32, 64],
    warmupSteps: 1,
    timedSteps: 3,
    l1Coefficient: 0.05,
    lr: 1e-5,
    breakEvenFractions: [0.0025, 0.005, 0.01, 0.02],
    outputFile: path.join(process.cwd(), ".bench", "sae.json"),
  };
}

/** SAEC_BENCH_SAE="batch=256 dIn=64 dSae=512 l0=8,32 steps=2 warmup=1 fractions=0.01,0.05" overrides the defaults. */
export function saeBenchOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SaeBenchOptions {
  const options = defaultSaeBenchOptions();
  const text = env.SAEC_BENCH_SAE?.trim();
  if (!text) return options;
  const numbers = (key: string, value: string) => {
    const parsed = value.split(",").map(Number);
    if (parsed.length === 0 || parsed.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`SAEC_BENCH_SAE: ${key}=${value} is not a list of positive numbers`);
    return parsed;
  };
  const integer = (key: string, value: string) => {
    const [n] = numbers(key, value);
    if (!Number.isInteger(n)) throw new Error(`SAEC_BENCH_SAE: ${key}=${value} is not a positive integer`);
    return n;
  };
  for (const part of text.split(/\s+/)) {
    const [key, value] = part.split("=");
    if (value === undefined) throw new Error(`SAEC_BENCH_SAE: "${part}" is not key=value`);
    if (key === "batch" || key === "dIn" || key === "dSae") options.shape[key] = integer(key, value);
    else if (key === "steps") options.timedSteps = integer(key, value);
    else if (key === "warmup") options.warmupSteps = integer(key, value);
    else if (key === "l0") options.l0Targets = numbers(key, value);
    else if (key === "fractions") options.breakEvenFractions = numbers(key, value);
    else throw new Error(`SAEC_BENCH_SAE: unknown key "${key}" (batch, dIn, dSae, steps, warmup, l0, fractions)`);
  }
  return options;
}

/** A copy of `initial` whose b_enc makes each feature fire on exactly k = round(l0·B/d_sae) (1 ≤ k < B) tokens of x. */
export function trainedLikeState(kernels: Kernels, shape: SaeStepShape, initial: ReluSaeParams, x: Float32Array, l0: number): ReluSaeParams {
  const { batch, dIn, dSae } = shape;
  const k = Math.min(batch - 1, Math.max(1, Math.round((l0 * batch) / dSae)));
  const centered = x.slice();
  for (let b = 0; b < batch; b++) for (let j = 0; j < dIn; j++) centered[b * dIn + j] -= initial.b_dec[j];
  const pre = new Float32Array(batch * dSae); // (x − b_dec)·W_enc
  kernels.sgemm(false, false, batch, dSae, dIn, 1, centered, initial.W_enc, 0, pre);
  const column = new Float32Array(batch);
  const b_enc = new Float32Array(dSae);
  for (let i = 0; i < dSae; i++) {
    for (let b = 0; b < batch; b++) column[b] = pre[b * dSae + i];
    column.sort(); // ascending: the k-th largest sits at batch − k
    b_enc[i] = -(column[batch - k] + column[batch - k - 1]) / 2;
  }
  return { W_enc: initial.W_enc.slice(), b_enc, W_dec: initial.W_dec.slice(), b_dec: initial.b_dec.slice() };
}

interface PathTiming {
  path: ChosenKernelPath;
  /** Each timed step. */
  seconds: number[];
  /** Over the fastest step: other load on the machine only ever adds time. */
  stepsPerSecond: number;
  activationsPerSecond: number;
  /** mean_b #{f ≠ 0} over the timed steps. */
  l0: number;
  firstLoss: number;
  finalLoss: number;
}

type TorchTiming =
  | { threads: number; secondsPerStep: number; stepsPerSecond: number; activationsPerSecond: number; firstLoss: number; finalLoss: number; torchVersion: string }
  | { threads: number; unavailable: string };

interface StateResult {
  l0Target: number;
  paths: PathTiming[];
  torch: TorchTiming;
}

interface BreakEvenPoint {
  activeFraction: number;
  denseSeconds: number;
  sparseSeconds: number;
}

export interface SaeBenchResults {
  date: string;
  machine: BenchMachine;
  provider: string;
  threads: number;
  options: Omit<SaeBenchOptions, "outputFile">;
  states: StateResult[];
  breakEven: { points: BreakEvenPoint[]; activeFraction: number | null; note: string; configured: number };
  fromSources: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function timePath(kernels: Kernels, state: ReluSaeParams, x: Float32Array, path: ChosenKernelPath, options: SaeBenchOptions): PathTiming {
  const { shape, warmupSteps, timedSteps, l1Coefficient, lr } = options;
  const workload = new SaeStepWorkload(kernels, shape, { l1Coefficient, lr, kernelPath: path }, state);
  const losses: number[] = [];
  const seconds: number[] = [];
  let activeSum = 0;
  for (let step = 0; step < warmupSteps + timedSteps; step++) {
    const start = performance.now();
    losses.push(workload.step(x).total);
    const elapsed = (performance.now() - start) / 1000;
    if (step < warmupSteps) continue;
    seconds.push(elapsed);
    activeSum += meanL0(workload.pass.features, shape.batch);
  }
  const stepsPerSecond = 1 / Math.min(...seconds);
  const l0 = activeSum / timedSteps;
  log(`  ${path}: ${stepsPerSecond.toFixed(2)} steps/s at L0 ${l0.toFixed(1)} (fastest of ${timedSteps})`);
  return { path, seconds, stepsPerSecond, activationsPerSecond: stepsPerSecond * shape.batch, l0, firstLoss: losses[0], finalLoss: losses[losses.length - 1] };
}

/** sae_step.py from the same parameters and batch (written to a raw float32 file, see its docstring). */
function timeTorch(threads: number, state: ReluSaeParams, x: Float32Array, options: SaeBenchOptions): TorchTiming {
  const missing = torchMissingReason();
  if (missing) return { threads, unavailable: missing };
  const { batch, dIn, dSae } = options.shape;
  const file = path.join(os.tmpdir(), `saec-bench-sae-${process.pid}.f32`);
  const parts = [state.W_enc, state.b_enc, state.W_dec, state.b_dec, x];
  const bytes = Buffer.concat(parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength)));
  writeFileSync(file, bytes);
  try {
    const args = [referenceScript("sae_step.py"), String(threads), "--steps", String(options.timedSteps), "--warmup", String(options.warmupSteps)];
    args.push("--batch", String(batch), "--d-in", String(dIn), "--d-sae", String(dSae), "--l1", String(options.l1Coefficient), "--lr", String(options.lr), "--state", file);
    const run = spawnSync(SYSTEM_PYTHON, args, { encoding: "utf8" });
    if (run.status !== 0) return { threads, unavailable: `sae_step.py exited ${run.status}: ${run.stderr.trim().split("\n").pop()}` };
    const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as {
      seconds_per_step: number;
      threads: number;
      torch_version: string;
      first_loss: number;
      final_loss: number;
    };
    const stepsPerSecond = 1 / report.seconds_per_step;
    log(`  torch ${report.torch_version} ×${report.threads}: ${stepsPerSecond.toFixed(2)} steps/s`);
    return {
      threads: report.threads,
      secondsPerStep: report.seconds_per_step,
      stepsPerSecond,
      activationsPerSecond: stepsPerSecond * batch,
      firstLoss: report.first_loss,
      finalLoss: report.final_loss,
      torchVersion: report.torch_version,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

/** Fastest of two forward + backward passes (after one untimed) on one path. */
function timePass(kernels: Kernels, state: ReluSaeParams, x: Float32Array, path: ChosenKernelPath, options: SaeBenchOptions): number {
  const workload = new SaeStepWorkload(kernels, options.shape, { l1Coefficient: options.l1Coefficient, lr: options.lr, kernelPath: path }, state);
  workload.lossAndGradients(x);
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 2; rep++) {
    const start = performance.now();
    workload.lossAndGradients(x);
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

/** The active fraction where sparse/dense time crosses 1, interpolated linearly between measured points. */
function crossing(points: BreakEvenPoint[]): { activeFraction: number | null; note: string } {
  const ratio = (p: BreakEvenPoint) => p.sparseSeconds / p.denseSeconds;
  if (points.length === 0) return { activeFraction: null, note: "no points measured" };
  if (points.every((p) => ratio(p) < 1)) return { activeFraction: null, note: `sparse is faster at every measured fraction (≥ ${points[points.length - 1].activeFraction})` };
  if (ratio(points[0]) >= 1) return { activeFraction: null, note: `dense is faster at every measured fraction (≤ ${points[0].activeFraction})` };
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (ratio(a) < 1 && ratio(b) >= 1) {
      const t = (1 - ratio(a)) / (ratio(b) - ratio(a));
      return { activeFraction: a.activeFraction + t * (b.activeFraction - a.activeFraction), note: "interpolated" };
    }
  }
  return { activeFraction: null, note: "sparse/dense is not monotonic over the measured fractions" };
}

export async function runSaeBenchmark(options = saeBenchOptionsFromEnv()): Promise<SaeBenchResults> {
  const loadAverage = os.loadavg();
  const { kernels } = await selectedKernels();
  const { shape } = options;
  const random = new SaeRandom(42);
  const initial = initReluSae(shape, "tied", random);
  const x = fillNormal(random.next, new Float32Array(shape.batch * shape.dIn), 1);
  log(`SAE step, batch ${shape.batch}, d_in ${shape.dIn}, d_sae ${shape.dSae}, ${kernels.name} ×${kernels.threads}`);

  const states: StateResult[] = [];
  for (const l0Target of options.l0Targets) {
    log(` trained-like state at L0 ${l0Target}`);
    const state = trainedLikeState(kernels, shape, initial, x, l0Target);
    const paths = (["dense", "sparse"] as const).map((path) => timePath(kernels, state, x, path, options));
    states.push({ l0Target, paths, torch: timeTorch(kernels.threads, state, x, options) });
  }

  log(" break-even: one forward + backward per path");
  const points: BreakEvenPoint[] = [];
  for (const activeFraction of [...options.breakEvenFractions].sort((a, b) => a - b)) {
    const state = trainedLikeState(kernels, shape, initial, x, activeFraction * shape.dSae);
    const point = { activeFraction, denseSeconds: timePass(kernels, state, x, "dense", options), sparseSeconds: timePass(kernels, state, x, "sparse", options) };
    log(`  fraction ${activeFraction}: dense ${point.denseSeconds.toFixed(3)} s, sparse ${point.sparseSeconds.toFixed(3)} s`);
    points.push(point);
  }

  const { outputFile, ...recorded } = options;
  const results: SaeBenchResults = {
    date: new Date().toISOString(),
    machine: benchMachine(loadAverage),
    provider: kernels.name,
    threads: kernels.threads,
    options: recorded,
    states,
    breakEven: { points, ...crossing(points), configured: SPARSE_BREAK_EVEN[kernels.name] },
    fromSources: import.meta.url.endsWith(".ts"),
  };
  mkdirSync(path.dirname(outputFile), { recursive: true });
  await writeJsonAtomic(outputFile, results);
  log(`results written to ${outputFile}`);
  return results;
}

function rate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** The results as Markdown, ready to paste into the README. */
export function saeBenchMarkdown(results: SaeBenchResults): string {
  const { shape, lr, l1Coefficient, warmupSteps, timedSteps } = results.options;
  const lines = [machineLine(results.machine, results.date), ""];
  lines.push(
    `SAE training step (standard ReLU + L1 λ ${l1Coefficient}, ConstrainedAdam at lr ${lr}; batch ${shape.batch}, d_in ${shape.dIn}, ` +
      `d_sae ${shape.dSae}) on ${results.provider} ×${results.threads}, from trained-like states (b_enc set so that each feature fires on ` +
      `L0·B/d_sae tokens), fastest of ${timedSteps} steps after ${warmupSteps}:`,
    "",
  );
  lines.push("| L0 target | path | L0 measured | steps/s | activations/s | first / last loss | PyTorch steps/s | PyTorch first / last loss | ours / PyTorch |");
  lines.push("|---:|---|---:|---:|---:|---|---:|---|---:|");
  for (const { l0Target, paths, torch } of results.states) {
    for (const run of paths) {
      const torchCells = "unavailable" in torch ? ["unavailable", "–", "–"] : [
        rate(torch.stepsPerSecond),
        `${torch.firstLoss.toPrecision(6)} / ${torch.finalLoss.toPrecision(6)}`,
        `${(run.stepsPerSecond / torch.stepsPerSecond).toFixed(2)}×`,
      ];
      lines.push(
        `| ${l0Target} | ${run.path} | ${run.l0.toFixed(1)} | ${rate(run.stepsPerSecond)} | ${rate(run.activationsPerSecond)} | ` +
          `${run.firstLoss.toPrecision(6)} / ${run.finalLoss.toPrecision(6)} | ${torchCells.join(" | ")} |`,
      );
    }
  }
  const torchRun = results.states.map((s) => s.torch).find((t) => !("unavailable" in t));
  if (torchRun && !("unavailable" in torchRun)) lines.push("", `PyTorch ${torchRun.torchVersion} ×${torchRun.threads} (bench/reference/sae_step.py --state: the same parameters and batch; dense at any L0).`);
  else if (results.states.length > 0 && "unavailable" in results.states[0].torch) lines.push("", `PyTorch: ${results.states[0].torch.unavailable}`);

  const { points, activeFraction, note, configured } = results.breakEven;
  lines.push("", "One forward + backward (no Adam), fastest of 2:", "", "| active fraction | L0 | dense s | sparse s | sparse / dense |", "|---:|---:|---:|---:|---:|");
  for (const p of points) {
    lines.push(`| ${p.activeFraction} | ${(p.activeFraction * shape.dSae).toFixed(1)} | ${p.denseSeconds.toFixed(3)} | ${p.sparseSeconds.toFixed(3)} | ${(p.sparseSeconds / p.denseSeconds).toFixed(2)} |`);
  }
  const measured = activeFraction === null ? note : `${activeFraction.toFixed(4)} (L0 ${(activeFraction * shape.dSae).toFixed(1)})`;
  lines.push("", `Break-even active fraction on ${results.provider} ×${results.threads}: ${measured}; kernelPath "auto" uses ${configured} (SPARSE_BREAK_EVEN.${results.provider}).`);
  if (results.fromSources) lines.push("", "Run from the TypeScript sources through tsx.");
  return lines.join("\n");
}

/** `bench sae`: measure, write .bench/sae.json, print the Markdown tables. */
export async function saeBench(): Promise<void> {
  const results = await runSaeBenchmark();
  process.stdout.write(`${saeBenchMarkdown(results)}\n`);
}
