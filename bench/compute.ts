// The compute benchmark: sgemm GFLOP/s per provider and thread count on the model's and the SAE's shapes, then
// seconds per SAE training step per provider against PyTorch's on the same machine in the same run.

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROVIDER_NAMES, ProviderUnavailableError, type Kernels, type ProviderName } from "../compute/kernels.js";
import { probeSgemm, type GemmProbe, type GemmShape } from "../compute/probe.js";
import { selectKernels } from "../compute/select.js";
import { SaeStepWorkload, type SaeStepShape } from "./sae-step.js";
import { referenceScript, SYSTEM_PYTHON, torchMissingReason } from "./torch-reference.js";

interface GemmCase {
  label: string;
  /** "model": the shipped 4-layer d_model 128 GPT at ~2048 tokens a micro-batch; "sae": d_in 512, d_sae 4096. */
  group: "model" | "sae";
  shape: GemmShape;
}

const GEMM_CASES: GemmCase[] = [
  { label: "MLP in [2048,128]·[128,512]", group: "model", shape: { m: 2048, n: 512, k: 128 } },
  { label: "MLP out [2048,512]·[512,128]", group: "model", shape: { m: 2048, n: 128, k: 512 } },
  { label: "MLP in dW [2048,128]ᵀ·[2048,512]", group: "model", shape: { m: 128, n: 512, k: 2048, transA: true } },
  { label: "unembed [2048,128]·[128,61]", group: "model", shape: { m: 2048, n: 61, k: 128 } },
  { label: "SAE enc [4096,512]·[512,4096]", group: "sae", shape: { m: 4096, n: 4096, k: 512 } },
  { label: "SAE ∂f [4096,512]·[4096,512]ᵀ", group: "sae", shape: { m: 4096, n: 4096, k: 512, transB: true } },
  { label: "SAE dW_enc [4096,512]ᵀ·[4096,4096]", group: "sae", shape: { m: 512, n: 4096, k: 4096, transA: true } },
];

const SAE_SHAPE: SaeStepShape = { batch: 4096, dIn: 512, dSae: 4096 };

export interface ComputeBenchOptions {
  threadCounts: number[];
  /** Seconds each sgemm probe runs after its warm-up call. */
  probeSeconds: number;
  /** Timed SAE steps at most (fewer when a step is slow, at least 1), after one warm-up step. */
  maxSaeSteps: number;
  /** Seconds of timed SAE steps to aim for per provider. */
  saeSeconds: number;
  /** Where the JSON results go. */
  outputFile: string;
}

export function defaultComputeBenchOptions(): ComputeBenchOptions {
  return {
    threadCounts: [...new Set([1, os.availableParallelism()])],
    probeSeconds: 0.25,
    maxSaeSteps: 3,
    saeSeconds: 6,
    outputFile: path.join(process.cwd(), ".bench", "compute.json"),
  };
}

interface GemmResult extends GemmProbe {
  label: string;
  group: GemmCase["group"];
}

interface ProviderThreadsResult {
  provider: ProviderName;
  requestedThreads: number;
  threads: number;
  gemm: GemmResult[];
  /** Why some cases were not run (reference on the SAE shapes). */
  skipped?: string;
}

interface SaeStepResult {
  provider: ProviderName;
  threads: number;
  /** Fastest timed step. */
  secondsPerStep: number;
  meanSecondsPerStep: number;
  steps: number;
  gflops: number;
  finalLoss: number;
}

type TorchResult =
  | { threads: number; secondsPerStep: number; meanSecondsPerStep: number; torchVersion: string; steps: number; matmulGflops: number }
  | { threads: number; unavailable: string };

export interface ComputeBenchResults {
  date: string;
  machine: { cpu: string; cores: number; node: string; platform: string };
  options: Omit<ComputeBenchOptions, "outputFile">;
  gemm: ProviderThreadsResult[];
  unavailable: { provider: ProviderName; reason: string }[];
  saeShape: SaeStepShape;
  saeStep: (SaeStepResult | { provider: ProviderName; skipped: string })[];
  torch: TorchResult[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function loadProvider(provider: ProviderName, threads: number): Promise<Kernels> {
  return (await selectKernels({ force: provider, threads })).kernels;
}

/** A load failure's reason: ProviderUnavailableError's own, or whatever else broke (a provider still in flux). */
function failureReason(error: unknown): string {
  if (error instanceof ProviderUnavailableError) return error.reason;
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

function probeProvider(kernels: Kernels, requestedThreads: number, probeSeconds: number): ProviderThreadsResult {
  // the reference kernels need ~a minute per SAE-sized product: model shapes only, one call each
  const isReference = kernels.name === "reference";
  const cases = GEMM_CASES.filter((c) => !isReference || c.group === "model");
  const gemm: GemmResult[] = [];
  for (const { label, group, shape } of cases) {
    const probe = probeSgemm(kernels, shape, isReference ? 0 : probeSeconds);
    gemm.push({ ...probe, label, group });
    log(`  ${kernels.name} ×${kernels.threads} ${label}: ${probe.gflops.toFixed(2)} GFLOP/s (${probe.calls} calls)`);
  }
  return {
    provider: kernels.name,
    requestedThreads,
    threads: kernels.threads,
    gemm,
    ...(isReference ? { skipped: "SAE shapes (too slow for the reference kernels)" } : {}),
  };
}

function timeSaeStep(kernels: Kernels, options: ComputeBenchOptions): SaeStepResult {
  const workload = new SaeStepWorkload(kernels, SAE_SHAPE);
  const x = new Float32Array(SAE_SHAPE.batch * SAE_SHAPE.dIn).map(() => Math.random() * 2 - 1);
  const warmStart = process.hrtime.bigint();
  workload.step(x);
  const warmSeconds = Number(process.hrtime.bigint() - warmStart) / 1e9;
  const steps = Math.max(1, Math.min(options.maxSaeSteps, Math.floor(options.saeSeconds / warmSeconds)));
  let finalLoss = 0;
  const stepSeconds: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = process.hrtime.bigint();
    finalLoss = workload.step(x).total;
    stepSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  // the fastest step, as sae_step.py reports: other load on the machine only ever adds time
  const secondsPerStep = Math.min(...stepSeconds);
  const meanSecondsPerStep = stepSeconds.reduce((sum, seconds) => sum + seconds, 0) / steps;
  const gflops = workload.flopsPerStep() / secondsPerStep / 1e9;
  log(`  ${kernels.name} ×${kernels.threads} SAE step: ${secondsPerStep.toFixed(3)} s/step (fastest of ${steps})`);
  return { provider: kernels.name, threads: kernels.threads, secondsPerStep, meanSecondsPerStep, steps, gflops, finalLoss };
}

function timeTorchStep(threads: number, options: ComputeBenchOptions): TorchResult {
  const missing = torchMissingReason();
  if (missing) return { threads, unavailable: missing };
  const { batch, dIn, dSae } = SAE_SHAPE;
  const args = [referenceScript("sae_step.py"), String(threads), "--steps", String(options.maxSaeSteps), "--warmup", "1"];
  args.push("--batch", String(batch), "--d-in", String(dIn), "--d-sae", String(dSae));
  const run = spawnSync(SYSTEM_PYTHON, args, { encoding: "utf8" });
  if (run.status !== 0) return { threads, unavailable: `sae_step.py exited ${run.status}: ${run.stderr.trim().split("\n").pop()}` };
  const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as {
    seconds_per_step: number;
    mean_seconds_per_step: number;
    threads: number;
    torch_version: string;
    steps: number;
    matmul_gflops: number;
  };
  log(`  torch ${report.torch_version} ×${report.threads} SAE step: ${report.seconds_per_step.toFixed(3)} s/step (fastest of ${report.steps})`);
  return {
    threads: report.threads,
    secondsPerStep: report.seconds_per_step,
    meanSecondsPerStep: report.mean_seconds_per_step,
    torchVersion: report.torch_version,
    steps: report.steps,
    matmulGflops: report.matmul_gflops,
  };
}

/** The thread count whose SAE-shape products ran fastest (model shapes when the SAE ones were skipped). */
function bestThreads(runs: ProviderThreadsResult[]): number {
  const score = (run: ProviderThreadsResult) => {
    const sae = run.gemm.filter((g) => g.group === "sae");
    const measured = sae.length > 0 ? sae : run.gemm;
    return measured.reduce((sum, g) => sum + g.gflops, 0) / measured.length;
  };
  return runs.reduce((best, run) => (score(run) > score(best) ? run : best)).threads;
}

export async function runComputeBenchmark(options = defaultComputeBenchOptions()): Promise<ComputeBenchResults> {
  const gemm: ProviderThreadsResult[] = [];
  const unavailable: ComputeBenchResults["unavailable"] = [];
  const saeStep: ComputeBenchResults["saeStep"] = [];

  for (const provider of PROVIDER_NAMES) {
    const runs: ProviderThreadsResult[] = [];
    for (const requested of options.threadCounts) {
      let kernels: Kernels;
      try {
        kernels = await loadProvider(provider, requested);
      } catch (error) {
        const reason = failureReason(error);
        log(`  ${provider}: unavailable: ${reason}`);
        unavailable.push({ provider, reason });
        break;
      }
      if (runs.some((run) => run.threads === kernels.threads)) continue; // e.g. wasm runs one thread whatever is asked
      runs.push(probeProvider(kernels, requested, options.probeSeconds));
    }
    gemm.push(...runs);
    if (runs.length === 0) continue;
    if (provider === "reference") {
      saeStep.push({ provider, skipped: "minutes per step at this size" });
      continue;
    }
    // native's thread count is process-wide, so reload at the chosen count right before timing
    saeStep.push(timeSaeStep(await loadProvider(provider, bestThreads(runs)), options));
  }

  const torchThreads = [...new Set(saeStep.flatMap((s) => ("threads" in s ? [s.threads] : [])))];
  if (torchThreads.length === 0) torchThreads.push(Math.max(...options.threadCounts));
  const torch = torchThreads.map((threads) => timeTorchStep(threads, options));

  const { outputFile, ...recorded } = options;
  const cpus = os.cpus();
  const results: ComputeBenchResults = {
    date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model ?? "unknown", cores: os.availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
    options: recorded,
    gemm,
    unavailable,
    saeShape: SAE_SHAPE,
    saeStep,
    torch,
  };
  mkdirSync(path.dirname(outputFile), { recursive: true });
  writeFileSync(outputFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${outputFile}`);
  return results;
}

function shapeText({ m, n, k, transA, transB }: GemmShape): string {
  return `m ${m} n ${n} k ${k}${transA ? " Aᵀ" : ""}${transB ? " Bᵀ" : ""}`;
}

/** The results as Markdown tables, ready to paste into the README. */
export function computeBenchMarkdown(results: ComputeBenchResults): string {
  const { machine, gemm, unavailable, saeStep, torch, saeShape } = results;
  const lines: string[] = [];
  lines.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node} (${results.date.slice(0, 10)}).`, "");
  lines.push("sgemm GFLOP/s (provider ×threads):", "");
  const columns = gemm.map((run) => `${run.provider} ×${run.threads}`);
  lines.push(`| product | shape | ${columns.join(" | ")} |`);
  lines.push(`|---|---|${columns.map(() => "---:").join("|")}|`);
  for (const { label, shape } of GEMM_CASES) {
    const cells = gemm.map((run) => {
      const probe = run.gemm.find((g) => g.label === label);
      return probe ? probe.gflops.toFixed(probe.gflops < 10 ? 2 : 1) : "–";
    });
    lines.push(`| ${label} | ${shapeText(shape)} | ${cells.join(" | ")} |`);
  }
  lines.push("");
  lines.push(`SAE training step (ReLU + L1, ConstrainedAdam; batch ${saeShape.batch}, d_in ${saeShape.dIn}, d_sae ${saeShape.dSae}):`, "");
  lines.push("| provider | threads | s/step (fastest) | GFLOP/s | PyTorch s/step (same threads) | PyTorch / ours |");
  lines.push("|---|---:|---:|---:|---:|---:|");
  for (const step of saeStep) {
    if ("skipped" in step) {
      lines.push(`| ${step.provider} | – | skipped: ${step.skipped} | | | |`);
      continue;
    }
    const reference = torch.find((t) => t.threads === step.threads);
    const torchCell = !reference ? "–" : "unavailable" in reference ? "unavailable" : reference.secondsPerStep.toFixed(3);
    const ratio = reference && "secondsPerStep" in reference ? `${(reference.secondsPerStep / step.secondsPerStep).toFixed(2)}×` : "–";
    lines.push(`| ${step.provider} | ${step.threads} | ${step.secondsPerStep.toFixed(3)} | ${step.gflops.toFixed(1)} | ${torchCell} | ${ratio} |`);
  }
  lines.push("");
  for (const t of torch) {
    lines.push(
      "unavailable" in t
        ? `PyTorch ×${t.threads}: unavailable: ${t.unavailable}`
        : `PyTorch ${t.torchVersion} ×${t.threads} (bench/reference/sae_step.py): fastest of ${t.steps} steps after 1 warm-up; ` +
            `its matmul reaches ${t.matmulGflops.toFixed(1)} GFLOP/s on the SAE encoder product.`,
    );
  }
  for (const { provider, reason } of unavailable) lines.push(`${provider}: unavailable: ${reason}`);
  return lines.join("\n");
}

/** `bench compute`: measure, write .bench/compute.json, print the Markdown tables. */
export async function computeBench(): Promise<void> {
  const results = await runComputeBenchmark();
  process.stdout.write(`${computeBenchMarkdown(results)}\n`);
}
