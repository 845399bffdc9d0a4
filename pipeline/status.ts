// `saec status <run>`: each stage of a run with its state, key and outputs, read from the run directory.

import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parsePipelineConfig } from "./config.js";
import { planRun } from "./plan.js";
import { readManifest, RUN_CONFIG_FILE } from "./runner.js";
import type { StageManifest, StageRegistry } from "./stage.js";

export type StageState = "done" | "incomplete" | "pending";

export interface StageStatus {
  stage: string;
  key: string;
  dir: string;
  state: StageState;
  manifest?: StageManifest;
}

export class RunNotFoundError extends Error {
  constructor(runDir: string) {
    super(`no run at ${runDir} (expected ${path.join(runDir, RUN_CONFIG_FILE)}; start one with \`saec run <config>\`)`);
    this.name = "RunNotFoundError";
  }
}

/** runDir is a run's directory (runs/<name>) or a run name under runsDir. */
export async function runStatus(runDir: string, registry: StageRegistry): Promise<StageStatus[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(runDir, RUN_CONFIG_FILE), "utf8"));
  } catch {
    throw new RunNotFoundError(runDir);
  }
  const config = parsePipelineConfig(raw, registry, path.join(runDir, RUN_CONFIG_FILE));
  // The recorded runsDir may be relative to wherever the run was started; status reads the directory it was given.
  const plan = await planRun({ ...config, runsDir: path.dirname(path.resolve(runDir)), name: path.basename(runDir) }, registry);
  const statuses: StageStatus[] = [];
  for (const stage of plan.stages) {
    const manifest = await readManifest(stage.dir);
    const exists = await stat(stage.dir).then(() => true, () => false);
    statuses.push({
      stage: stage.definition.name,
      key: stage.key,
      dir: stage.dir,
      state: manifest ? "done" : exists ? "incomplete" : "pending",
      manifest,
    });
  }
  return statuses;
}

export function formatStatus(statuses: StageStatus[]): string {
  const lines: string[] = [];
  for (const status of statuses) {
    const seconds = status.manifest ? ` ${status.manifest.seconds.toFixed(1)}s` : "";
    lines.push(`${status.stage.padEnd(16)} ${status.state.padEnd(10)} ${status.key}${seconds}`);
    for (const [name, output] of Object.entries(status.manifest?.outputs ?? {})) {
      lines.push(`    ${name}: ${path.join(status.dir, output.path)} (${output.bytes} bytes)`);
    }
    for (const [name, value] of Object.entries(status.manifest?.metrics ?? {})) {
      lines.push(`    ${name} = ${value}`);
    }
  }
  return lines.join("\n");
}
