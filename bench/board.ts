// The board-metrics benchmark (spec board-metrics.md §2–8): evaluation time of one 4096-feature SAE on 1000
// labelling + 1000 reconstruction Othello games through the shipped models/othello-4l-128 at
// blocks.2.hook_resid_post, split into (a) evaluationData (model runs + BSP truth), (b) evaluateDictionary (firing,
// labelling counts, coverage, labels, reconstruction, annotations) and their total (issue target ≤ 60 s on 2 cores),
// with the evaluating process's peak RSS. The evaluation runs in a child process (board-process.ts) so that RSS is
// its own.
//
// The SAE is "trained-like" as in bench/sae.ts (trainedLikeState): a random tied init whose b_enc makes every feature
// fire on round(L0·rows/d_sae) rows of a calibration sample (the first ≤ 4096 firing-sample rows); its cost depends
// on the number of on-entries, not on what the features mean. Its measured L0 is reported.
//
// Reference: bench/reference/board_eval.py computes coverage_ref of mine_masked and legal the reference repository's
// dense way (aggregate_statistics: per threshold a dense on-matrix, TP = onᵀ·truth) from the same hook activations,
// SAE weights, firing-row count and truth tables; both coverages must agree to 1e-6. Its time is compared with
// ours for the same work (firing, levels, labelling counts and coverage of those two functions).
// Tiny runs: SAEC_BENCH_BOARD="games=100 features=512 l0=20" npm run bench -- board

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bspWidth, type BspFunction } from "../boards/bsp.js";
import { gameSourceConfigSchema, generateGames } from "../boards/game-sources.js";
import { evaluateDictionary, evaluationData, type BoardEvaluationData } from "../boards/metrics/board-eval.js";
import { coverageOf } from "../boards/metrics/coverage.js";
import type { Dictionary } from "../boards/metrics/dictionary.js";
import { LabellingCounts } from "../boards/metrics/feature-stats.js";
import { boardFunctions } from "../boards/metrics/scored-games.js";
import { featureLevels, FiringSample } from "../boards/metrics/thresholds.js";
import { othelloLegal, othelloMineMasked } from "../boards/othello/bsp.js";
import type { Kernels } from "../compute/kernels.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { initTfjs } from "../compute/tfjs.js";
import { writeJsonAtomic } from "../io/atomic-write.js";
import { loadGpt } from "../model/checkpoint.js";
import { createSae } from "../sae/params.js";
import { SaeRandom } from "../sae/random.js";
import { initReluSae, type ReluSaeParams } from "../sae/trainers/relu-sae.js";
import { runBenchProcess } from "./bench-process.js";
import { benchMachine, machineLine, type BenchMachine } from "./machine.js";
import { trainedLikeState } from "./sae.js";
import { referenceScript, SYSTEM_PYTHON, torchMissingReason } from "./torch-reference.js";

export interface BoardBenchOptions {
  /** A model checkpoint directory (config.json + model.safetensors). */
  modelDir: string;
  hook: string;
  labelGames: number;
  reconGames: number;
  /** d_sae of the trained-like standard SAE. */
  features: number;
  /** L0 target of the trained-like state. */
  l0: number;
  /** Seeds the games (Othello random source) and the SAE init. */
  seed: number;
  /** Rows of the firing sample b_enc is calibrated on (at most the firing sample). */
  calibrationRows: number;
  /** Feature-activation rows per encode chunk (evaluateDictionary's chunkRows). */
  chunkRows: number;
  /** Where the JSON results go. */
  outputFile: string;
}

/** The issue's workload: 1000 + 1000 games, 4096 features at L0 100. */
export const BOARD_TARGET_SECONDS = 60;
const TARGET_SHAPE = { labelGames: 1000, reconGames: 1000, features: 4096 };

export function defaultBoardBenchOptions(): BoardBenchOptions {
  return {
    modelDir: path.join(process.cwd(), "models", "othello-4l-128"),
    hook: "blocks.2.hook_resid_post",
    ...TARGET_SHAPE,
    l0: 100,
    seed: 7,
    calibrationRows: 4096,
    chunkRows: 2048,
    outputFile: path.join(process.cwd(), ".bench", "board.json"),
  };
}

/** SAEC_BENCH_BOARD="games=100 features=512 l0=20" (games sets both sets; label=, recon=, seed=, model=, hook=, chunk=, calibration=). */
export function boardBenchOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): BoardBenchOptions {
  const options = defaultBoardBenchOptions();
  const text = env.SAEC_BENCH_BOARD?.trim();
  if (!text) return options;
  const number = (key: string, value: string, integer: boolean) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new Error(`SAEC_BENCH_BOARD: ${key}=${value} is not a positive ${integer ? "integer" : "number"}`);
    }
    return n;
  };
  for (const part of text.split(/\s+/)) {
    const [key, value] = part.split("=");
    if (value === undefined || value === "") throw new Error(`SAEC_BENCH_BOARD: "${part}" is not key=value`);
    if (key === "games") options.labelGames = options.reconGames = number(key, value, true);
    else if (key === "label") options.labelGames = number(key, value, true);
    else if (key === "recon") options.reconGames = number(key, value, true);
    else if (key === "features") options.features = number(key, value, true);
    else if (key === "l0") options.l0 = number(key, value, false);
    else if (key === "seed") options.seed = number(key, value, true);
    else if (key === "calibration") options.calibrationRows = number(key, value, true);
    else if (key === "chunk") options.chunkRows = number(key, value, true);
    else if (key === "model") options.modelDir = path.resolve(value);
    else if (key === "hook") options.hook = value;
    else throw new Error(`SAEC_BENCH_BOARD: unknown key "${key}" (games, label, recon, features, l0, seed, calibration, chunk, model, hook)`);
  }
  return options;
}

/** What the evaluating child process is asked to do. */
export interface BoardMeasurementRequest extends Omit<BoardBenchOptions, "outputFile"> {
  /** A directory to write the reference's inputs into (see bench/reference/board_eval.py). */
  referenceDir: string;
}

/** The two functions both implementations score (spec §6: the board function and legal moves). */
const REFERENCE_FUNCTIONS: readonly BspFunction[] = [othelloMineMasked, othelloLegal];

export interface CoverageRef {
  coverage_ref: number;
  coverage_k: number;
  coverage_ref_by_k: number[];
}

export interface BoardMeasurement {
  provider: string;
  threads: number;
  tfjsBackend: string;
  labelRows: number;
  reconRows: number;
  fireRows: number;
  functions: string[];
  /** Untimed preparation: game generation and model load. */
  gamesSeconds: number;
  modelLoadSeconds: number;
  /** (a), (b) and (a) + (b). */
  dataSeconds: number;
  evaluateSeconds: number;
  totalSeconds: number;
  /** Firing, levels, labelling counts and coverage of REFERENCE_FUNCTIONS only: the reference's work. */
  sameWorkSeconds: number;
  /** mean over labelling rows of #{f : a_f > 0}; the calibration target for comparison. */
  l0: number;
  nAlive: number;
  coverageRef: Record<string, CoverageRef>;
  board: { coverage: number; coverage_ref: number; reconstruction: number; legal_reconstruction: number | null };
  /** process.resourceUsage().maxRSS: after modules, games and model; after (a); after calibration; at the end. */
  rssBeforeMiB: number;
  rssAfterDataMiB: number;
  rssAfterCalibrationMiB: number;
  peakRssMiB: number;
}

const MIB = 1024 * 1024;
const maxRssMiB = () => (process.resourceUsage().maxRSS * 1024) / MIB;
const seconds = (start: number) => (performance.now() - start) / 1000;

/** The trained-like standard SAE as a dictionary (spec board-metrics.md §1: standard inference encode). */
function benchDictionary(params: ReluSaeParams, hook: string, dIn: number, dSae: number, kernels: Kernels): Dictionary {
  const sae = createSae(kernels, { architecture: "standard", applyBDecToInput: true, dIn, dSae }, params);
  return { name: `trained-like-${dSae}`, kind: "sae", hook, nFeatures: dSae, trainer: "standard", encode: (x, rows) => sae.encode(x, rows) };
}

/** The reference's work on our side: firing sample, levels, labelling counts and coverage of `fns`. */
function sameWorkCoverage(dictionary: Dictionary, data: BoardEvaluationData, fns: readonly BspFunction[], chunkRows: number): Record<string, CoverageRef> {
  const { label } = data;
  const x = label.activations.get(dictionary.hook)!;
  const d = x.length / label.rows;
  const encode = (start: number, rows: number) => dictionary.encode(x.subarray(start * d, (start + rows) * d), rows);
  const firing = new FiringSample(dictionary.nFeatures);
  for (let start = 0; start < data.fireRows; start += chunkRows) {
    const rows = Math.min(chunkRows, data.fireRows - start);
    firing.add(encode(start, rows), rows);
  }
  const thresholds = firing.finish();
  const counts = new LabellingCounts(fns, thresholds.alive.length);
  for (let start = 0; start < label.rows; start += chunkRows) {
    const rows = Math.min(chunkRows, label.rows - start);
    const truth = new Map(fns.map((fn) => [fn.id, label.positions.truth.get(fn.id)!.subarray(start * bspWidth(fn), (start + rows) * bspWidth(fn))]));
    counts.add(featureLevels(encode(start, rows), rows, thresholds), truth);
  }
  return Object.fromEntries(
    counts.finish().map((c) => {
      const { coverage_ref, coverage_k, coverage_ref_by_k } = coverageOf(c);
      return [c.fn.id, { coverage_ref, coverage_k, coverage_ref_by_k }];
    }),
  );
}

/** mean_n #{f : a_f(n) > 0} over the labelling rows. */
function measuredL0(dictionary: Dictionary, data: BoardEvaluationData, chunkRows: number): number {
  const { label } = data;
  const x = label.activations.get(dictionary.hook)!;
  const d = x.length / label.rows;
  let active = 0;
  for (let start = 0; start < label.rows; start += chunkRows) {
    const rows = Math.min(chunkRows, label.rows - start);
    const acts = dictionary.encode(x.subarray(start * d, (start + rows) * d), rows);
    for (let i = 0; i < acts.length; i++) if (acts[i]! > 0) active++;
  }
  return active / label.rows;
}

/** Raw little-endian files + inputs.json for board_eval.py (labelling set only: coverage uses nothing else). */
function writeReferenceInputs(dir: string, data: BoardEvaluationData, params: ReluSaeParams, hook: string, dIn: number, dSae: number): void {
  const write = (name: string, array: Float32Array | Uint8Array) => writeFileSync(path.join(dir, name), Buffer.from(array.buffer, array.byteOffset, array.byteLength));
  write("x.f32", data.label.activations.get(hook)!);
  write("W_enc.f32", params.W_enc);
  write("b_enc.f32", params.b_enc);
  write("b_dec.f32", params.b_dec);
  const functions = REFERENCE_FUNCTIONS.map((fn) => {
    write(`truth_${fn.id}.u8`, data.label.positions.truth.get(fn.id)!);
    return { id: fn.id, rows: fn.rows, classes: fn.classes, file: `truth_${fn.id}.u8` };
  });
  const inputs = { rows: data.label.rows, d_in: dIn, d_sae: dSae, fire_rows: data.fireRows, x: "x.f32", W_enc: "W_enc.f32", b_enc: "b_enc.f32", b_dec: "b_dec.f32", functions };
  writeFileSync(path.join(dir, "inputs.json"), JSON.stringify(inputs));
}

/** The child process's work: games, model, (a), calibration, (b), the same-work coverage, L0, reference inputs. */
export async function measureBoard(request: BoardMeasurementRequest, log: (line: string) => void): Promise<BoardMeasurement> {
  const { labelGames, reconGames, features: dSae, hook, chunkRows } = request;
  let start = performance.now();
  const config = gameSourceConfigSchema.parse({ game: "othello", source: "random", count: labelGames + reconGames, seed: request.seed });
  const { rows: games } = await generateGames(config, { workers: 1 });
  const gamesSeconds = seconds(start);
  start = performance.now();
  const runtime = await initTfjs();
  const { kernels } = await selectedKernels();
  const model = await loadGpt(runtime.tf, request.modelDir);
  const modelLoadSeconds = seconds(start);
  const fns = boardFunctions("othello");
  log(`  ${games.length} games in ${gamesSeconds.toFixed(1)} s, model ${model.config.model_name} on tfjs ${runtime.backend}, ${kernels.name} ×${kernels.threads}`);
  const rssBeforeMiB = maxRssMiB();

  start = performance.now();
  const sets = { label: games.slice(0, labelGames), recon: games.slice(labelGames) };
  const source = { model: model.config.model_name, dataset: `generated othello seed ${request.seed}`, split: "bench" };
  const data = evaluationData(model, sets, [hook], fns, source);
  const dataSeconds = seconds(start);
  const rssAfterDataMiB = maxRssMiB();
  log(`  (a) evaluationData: ${dataSeconds.toFixed(2)} s (${data.label.rows} + ${data.recon.rows} rows, firing sample ${data.fireRows})`);

  const dIn = data.label.activations.get(hook)!.length / data.label.rows;
  const calibrationRows = Math.min(request.calibrationRows, data.fireRows);
  const initial = initReluSae({ dIn, dSae }, "tied", new SaeRandom(request.seed));
  const calibration = data.label.activations.get(hook)!.subarray(0, calibrationRows * dIn);
  const params = trainedLikeState(kernels, { batch: calibrationRows, dIn, dSae }, initial, calibration, request.l0);
  const dictionary = benchDictionary(params, hook, dIn, dSae, kernels);
  const rssAfterCalibrationMiB = maxRssMiB();

  start = performance.now();
  const { metrics } = evaluateDictionary(dictionary, data, chunkRows);
  const evaluateSeconds = seconds(start);
  const peakRssMiB = maxRssMiB();
  log(`  (b) evaluateDictionary: ${evaluateSeconds.toFixed(2)} s, ${metrics.n_alive} alive features`);

  start = performance.now();
  const coverageRef = sameWorkCoverage(dictionary, data, REFERENCE_FUNCTIONS, chunkRows);
  const sameWorkSeconds = seconds(start);
  log(`  same work as the reference (coverage of ${REFERENCE_FUNCTIONS.map((fn) => fn.id).join(", ")}): ${sameWorkSeconds.toFixed(2)} s`);
  for (const fn of REFERENCE_FUNCTIONS) {
    // both paths run the same library code on the same activations: any difference is a bug in the bench
    if (coverageRef[fn.id]!.coverage_ref !== metrics.functions[fn.id]!.coverage_ref) {
      throw new Error(`board benchmark: coverage_ref of ${fn.id} is ${metrics.functions[fn.id]!.coverage_ref} from evaluateDictionary but ${coverageRef[fn.id]!.coverage_ref} from the same-work path`);
    }
  }
  const l0 = measuredL0(dictionary, data, chunkRows);
  writeReferenceInputs(request.referenceDir, data, params, hook, dIn, dSae);
  const board = metrics.functions[othelloMineMasked.id]!;
  return {
    provider: kernels.name,
    threads: kernels.threads,
    tfjsBackend: runtime.backend,
    labelRows: data.label.rows,
    reconRows: data.recon.rows,
    fireRows: data.fireRows,
    functions: fns.map((fn) => fn.id),
    gamesSeconds,
    modelLoadSeconds,
    dataSeconds,
    evaluateSeconds,
    totalSeconds: dataSeconds + evaluateSeconds,
    sameWorkSeconds,
    l0,
    nAlive: metrics.n_alive,
    coverageRef,
    board: {
      coverage: board.coverage,
      coverage_ref: board.coverage_ref,
      reconstruction: board.reconstruction,
      legal_reconstruction: metrics.functions[othelloLegal.id]?.reconstruction ?? null,
    },
    rssBeforeMiB,
    rssAfterDataMiB,
    rssAfterCalibrationMiB,
    peakRssMiB,
  };
}

type ReferenceResult =
  | {
      seconds: number;
      encodeSeconds: number;
      threads: number;
      torchVersion: string;
      nAlive: number;
      functions: Record<string, CoverageRef>;
      /** |ours − reference| of coverage_ref and the largest over coverage_ref_by_k, per function. */
      difference: Record<string, { coverage_ref: number; by_k: number }>;
      agrees: boolean;
    }
  | { unavailable: string };

/** spec §6 check: coverage_ref of both functions within this of the reference. */
export const COVERAGE_TOLERANCE = 1e-6;

function runReference(dir: string, threads: number, ours: BoardMeasurement): ReferenceResult {
  const missing = torchMissingReason();
  if (missing) return { unavailable: missing };
  const run = spawnSync(SYSTEM_PYTHON, [referenceScript("board_eval.py"), String(threads), dir], { encoding: "utf8", maxBuffer: 16 * MIB });
  if (run.status !== 0) throw new Error(`board benchmark: board_eval.py exited ${run.status ?? run.signal}: ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as {
    seconds: number;
    encode_seconds: number;
    threads: number;
    torch_version: string;
    n_alive: number;
    functions: Record<string, CoverageRef>;
  };
  const difference: Record<string, { coverage_ref: number; by_k: number }> = {};
  let agrees = true;
  for (const fn of REFERENCE_FUNCTIONS) {
    const mine = ours.coverageRef[fn.id]!;
    const theirs = report.functions[fn.id];
    if (!theirs) throw new Error(`board benchmark: board_eval.py reported no function "${fn.id}"`);
    const byK = Math.max(...mine.coverage_ref_by_k.map((value, k) => Math.abs(value - theirs.coverage_ref_by_k[k]!)));
    difference[fn.id] = { coverage_ref: Math.abs(mine.coverage_ref - theirs.coverage_ref), by_k: byK };
    if (!(difference[fn.id]!.coverage_ref <= COVERAGE_TOLERANCE)) agrees = false;
  }
  return {
    seconds: report.seconds,
    encodeSeconds: report.encode_seconds,
    threads: report.threads,
    torchVersion: report.torch_version,
    nAlive: report.n_alive,
    functions: report.functions,
    difference,
    agrees,
  };
}

export interface BoardBenchResults {
  date: string;
  machine: BenchMachine;
  options: Omit<BoardBenchOptions, "outputFile">;
  measurement: BoardMeasurement;
  reference: ReferenceResult;
  fromSources: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function runBoardBenchmark(options = boardBenchOptionsFromEnv()): Promise<BoardBenchResults> {
  const loadAverage = os.loadavg();
  const { outputFile, ...recorded } = options;
  const referenceDir = mkdtempSync(path.join(os.tmpdir(), "saec-bench-board-"));
  try {
    log(`board metrics: ${options.labelGames} + ${options.reconGames} games, ${options.features} features at L0 ${options.l0}, ${options.hook}`);
    const request: BoardMeasurementRequest = { ...recorded, referenceDir };
    const measurement = await runBenchProcess<BoardMeasurement>("board-process", request);
    log(" reference (bench/reference/board_eval.py)");
    const reference = runReference(referenceDir, measurement.threads, measurement);
    const results: BoardBenchResults = {
      date: new Date().toISOString(),
      machine: benchMachine(loadAverage),
      options: recorded,
      measurement,
      reference,
      fromSources: import.meta.url.endsWith(".ts"),
    };
    mkdirSync(path.dirname(outputFile), { recursive: true });
    await writeJsonAtomic(outputFile, results);
    log(`results written to ${outputFile}`);
    return results;
  } finally {
    rmSync(referenceDir, { recursive: true, force: true });
  }
}

const fmt = (value: number) => value.toFixed(2);

/** The results as Markdown, ready to paste into the README. */
export function boardBenchMarkdown(results: BoardBenchResults): string {
  const { options: o, measurement: m, reference: r } = results;
  const isTarget = o.labelGames === TARGET_SHAPE.labelGames && o.reconGames === TARGET_SHAPE.reconGames && o.features === TARGET_SHAPE.features;
  const target = `target ≤ ${BOARD_TARGET_SECONDS} s${isTarget ? (m.totalSeconds <= BOARD_TARGET_SECONDS ? ": met" : ": MISSED") : " (for 1000 + 1000 games, 4096 features; not this shape)"}`;
  const lines = [machineLine(results.machine, results.date), ""];
  lines.push(
    `Board metrics (spec board-metrics.md §2–8) of a trained-like standard SAE (${o.features} features, L0 target ${o.l0}, measured ${m.l0.toFixed(1)}; ` +
      `${m.nAlive} alive) at ${o.hook} of ${path.basename(o.modelDir)}, ${o.labelGames} labelling + ${o.reconGames} reconstruction Othello games ` +
      `(${m.labelRows} + ${m.reconRows} positions, firing sample ${m.fireRows}), functions ${m.functions.join(", ")}; ` +
      `${m.provider} ×${m.threads}, tfjs ${m.tfjsBackend}:`,
    "",
  );
  lines.push("| step | seconds |", "|---|---:|");
  lines.push(`| (a) evaluationData (model over both sets + BSP truth) | ${fmt(m.dataSeconds)} |`);
  lines.push(`| (b) evaluateDictionary (firing, counts, coverage, labels, reconstruction, annotations) | ${fmt(m.evaluateSeconds)} |`);
  lines.push(`| (c) total (a) + (b) — ${target} | ${fmt(m.totalSeconds)} |`);
  lines.push("");
  lines.push(
    `Peak RSS of the evaluating process: ${m.peakRssMiB.toFixed(0)} MiB (${m.rssBeforeMiB.toFixed(0)} MiB with games and model loaded, ` +
      `${m.rssAfterDataMiB.toFixed(0)} after (a), ${m.rssAfterCalibrationMiB.toFixed(0)} after calibrating b_enc). ` +
      `Untimed: games ${fmt(m.gamesSeconds)} s, model load ${fmt(m.modelLoadSeconds)} s.`,
  );
  lines.push(
    "",
    `Board (mine_masked) coverage ${m.board.coverage.toFixed(4)}, coverage_ref ${m.board.coverage_ref.toFixed(4)}, reconstruction ${m.board.reconstruction.toFixed(4)}` +
      `${m.board.legal_reconstruction === null ? "" : `; legal reconstruction ${m.board.legal_reconstruction.toFixed(4)}`} (random features: near the floor is expected).`,
  );
  lines.push("", `Coverage of ${REFERENCE_FUNCTIONS.map((fn) => fn.id).join(" and ")} (firing sample, levels, labelling counts, coverage): ours ${fmt(m.sameWorkSeconds)} s.`);
  if ("unavailable" in r) {
    lines.push("", `PyTorch reference: unavailable (${r.unavailable}).`);
    return lines.join("\n");
  }
  lines.push(
    `PyTorch ${r.torchVersion} ×${r.threads} dense reference (bench/reference/board_eval.py, encode ${fmt(r.encodeSeconds)} s of it): ${fmt(r.seconds)} s; ` +
      `ours / reference ${(m.sameWorkSeconds / r.seconds).toFixed(2)}× for the same work, ${(m.evaluateSeconds / r.seconds).toFixed(2)}× for all of (b); alive features ${m.nAlive} / ${r.nAlive}.`,
    "",
    "| function | coverage_ref ours | coverage_ref reference | |difference| | max |difference| over k | within 1e-6 |",
    "|---|---:|---:|---:|---:|---|",
  );
  for (const fn of REFERENCE_FUNCTIONS) {
    const d = r.difference[fn.id]!;
    lines.push(
      `| ${fn.id} | ${m.coverageRef[fn.id]!.coverage_ref.toFixed(8)} (k ${m.coverageRef[fn.id]!.coverage_k}) | ${r.functions[fn.id]!.coverage_ref.toFixed(8)} (k ${r.functions[fn.id]!.coverage_k}) | ` +
        `${d.coverage_ref.toExponential(2)} | ${d.by_k.toExponential(2)} | ${d.coverage_ref <= COVERAGE_TOLERANCE ? "yes" : "NO"} |`,
    );
  }
  if (results.fromSources) lines.push("", "Run from the TypeScript sources through tsx.");
  return lines.join("\n");
}

/** `bench board`: measure, write .bench/board.json, print the Markdown; a coverage mismatch with the reference fails. */
export async function boardBench(): Promise<void> {
  const results = await runBoardBenchmark();
  process.stdout.write(`${boardBenchMarkdown(results)}\n`);
  const { reference } = results;
  if (!("unavailable" in reference) && !reference.agrees) {
    const worst = Object.entries(reference.difference).map(([id, d]) => `${id} ${d.coverage_ref.toExponential(2)}`);
    throw new Error(`board benchmark FAILED: coverage_ref differs from the PyTorch reference by more than ${COVERAGE_TOLERANCE} (${worst.join(", ")})`);
  }
}
