// The plan of a run: which stages it has, in dependency order, each with its key and directory.

import path from "node:path";
import type { PipelineConfig } from "./config.js";
import { stageKey } from "./content-key.js";
import type { StageDefinition, StageRegistry } from "./stage.js";

export interface PlannedStage {
  definition: StageDefinition;
  config: unknown;
  key: string;
  /** runs/<run>/<stage>-<key>/ */
  dir: string;
  /** Upstream stage name → key. */
  inputs: Record<string, string>;
}

export interface Plan {
  runDir: string;
  stages: PlannedStage[];
}

export function runDirectory(config: PipelineConfig): string {
  return path.resolve(config.runsDir, config.name);
}

/** Stages of the registry that the config enables, keyed in dependency order. */
export async function planRun(config: PipelineConfig, registry: StageRegistry): Promise<Plan> {
  const runDir = runDirectory(config);
  const keys: Record<string, string> = {};
  const stages: PlannedStage[] = [];
  for (const definition of registry) {
    if (!(definition.name in config.stages)) continue;
    const inputs = Object.fromEntries(definition.inputs.map((input) => [input, keys[input]]));
    const stageConfig = config.stages[definition.name];
    const external = definition.fingerprint ? await definition.fingerprint(stageConfig) : undefined;
    const key = stageKey(definition.name, definition.version, external === undefined ? stageConfig : { config: stageConfig, external }, inputs);
    keys[definition.name] = key;
    stages.push({ definition, config: stageConfig, key, dir: path.join(runDir, `${definition.name}-${key}`), inputs });
  }
  return { runDir, stages };
}

/** A registry must list every stage after the stages it reads, with unique names. */
export function checkRegistry(registry: StageRegistry): void {
  const seen = new Set<string>();
  for (const stage of registry) {
    if (seen.has(stage.name)) throw new Error(`stage registry: "${stage.name}" is registered twice`);
    for (const input of stage.inputs) {
      if (!seen.has(input)) throw new Error(`stage registry: "${stage.name}" reads "${input}", which is not registered before it`);
    }
    seen.add(stage.name);
  }
}
