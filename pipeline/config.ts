// The pipeline config: one JSON or YAML file naming the run and giving each stage its slice. The zod schema is
// the type, the parser and the validator; an invalid file fails before any work, listing every problem.

import { readFile } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import type { StageRegistry } from "./stage.js";

export const runNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected a run name of letters, digits, '.', '_' and '-'");

/** Builds the schema for a registry: top-level fields plus one optional slice per registered stage. */
export function pipelineConfigSchema(registry: StageRegistry) {
  const stageSlices = Object.fromEntries(registry.map((stage) => [stage.name, z.unknown().optional()]));
  return z.strictObject({
    name: runNameSchema,
    /** Seed every stage takes unless its slice sets its own. */
    seed: z.number().int().nonnegative().default(42),
    /** How many independent stages may run at once. */
    concurrency: z.number().int().positive().default(1),
    /** Where runs are written; relative paths are taken from the working directory. */
    runsDir: z.string().default("runs"),
    stages: z.strictObject(stageSlices),
  });
}

export interface PipelineConfig {
  name: string;
  seed: number;
  concurrency: number;
  runsDir: string;
  /** Stage name → parsed slice (defaults applied), for the stages the config enables, in registry order. */
  stages: Record<string, unknown>;
}

export interface ConfigProblem {
  path: string;
  message: string;
  found: string;
}

/** An invalid config: every problem with its path, what was expected and what was found. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid config ${source}:\n` +
        problems.map((problem) => `  ${problem.path || "(root)"}: ${problem.message}; found ${problem.found}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of keys) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function problemsOf(error: z.ZodError, input: unknown, prefix: readonly PropertyKey[]): ConfigProblem[] {
  return error.issues.map((issue) => {
    const keys = [...prefix, ...issue.path];
    let message = issue.message;
    if (issue.code === "unrecognized_keys") message = `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
    return {
      path: keys.map(String).join("."),
      message,
      found: issue.code === "unrecognized_keys" ? describeValue(issue.keys) : describeValue(valueAt(input, issue.path)),
    };
  });
}

/** Parses data with a schema, or throws a ConfigError listing every problem (for configs given outside a pipeline). */
export function parseConfigWith<Schema extends z.ZodType>(schema: Schema, raw: unknown, source: string): z.output<Schema> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, problemsOf(result.error, raw, []));
  return result.data;
}

/** Validates raw config data (already parsed from JSON/YAML) against the registry. */
export function parsePipelineConfig(raw: unknown, registry: StageRegistry, source = "config"): PipelineConfig {
  const top = pipelineConfigSchema(registry).safeParse(raw);
  const problems: ConfigProblem[] = top.success ? [] : problemsOf(top.error, raw, []);
  // Stage slices are checked even when the top level has problems, so one run of the check lists them all.
  const rawStages = valueAt(raw, ["stages"]);
  const seed = top.success ? top.data.seed : 42;
  const stages: Record<string, unknown> = {};
  for (const stage of registry) {
    const rawSlice = valueAt(rawStages, [stage.name]);
    if (rawSlice === undefined) continue;
    const { input, result: slice } = parseWithSeed(stage.configSchema, rawSlice, seed);
    if (slice.success) stages[stage.name] = slice.data;
    else problems.push(...problemsOf(slice.error, input, ["stages", stage.name]));
  }
  for (const stage of registry) {
    if (valueAt(rawStages, [stage.name]) === undefined) continue;
    for (const input of stage.inputs) {
      if (valueAt(rawStages, [input]) === undefined) {
        problems.push({
          path: `stages.${stage.name}`,
          message: `stage "${stage.name}" reads the output of stage "${input}"; add stages.${input} to the config`,
          found: describeValue(valueAt(rawStages, [stage.name])),
        });
      }
    }
  }
  if (!top.success || problems.length > 0) throw new ConfigError(source, problems);
  return { ...top.data, stages };
}

/**
 * A slice takes the pipeline seed unless it sets its own, when its schema accepts a `seed` field (for a union: when
 * the option the slice selects does); a schema that rejects the field gets the slice as written.
 */
function parseWithSeed(schema: z.ZodType, slice: unknown, seed: number) {
  if (slice === null || typeof slice !== "object" || Array.isArray(slice) || "seed" in slice) {
    return { input: slice, result: schema.safeParse(slice) };
  }
  const seeded = { seed, ...(slice as Record<string, unknown>) };
  const result = schema.safeParse(seeded);
  const rejectsSeed =
    !result.success &&
    result.error.issues.some((issue) => issue.code === "unrecognized_keys" && issue.path.length === 0 && issue.keys.includes("seed"));
  return rejectsSeed ? { input: slice, result: schema.safeParse(slice) } : { input: seeded, result };
}

export class ConfigFileError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "ConfigFileError";
  }
}

/** The data of a .json, .yaml or .yml config file, unvalidated; ConfigFileError names the file and what went wrong. */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigFileError(file, `cannot read config (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const extension = path.extname(file).toLowerCase();
  try {
    if (extension === ".json") return JSON.parse(text);
    if (extension === ".yaml" || extension === ".yml") return YAML.parse(text);
    throw new Error(`unknown extension "${extension}", expected .json, .yaml or .yml`);
  } catch (error) {
    throw new ConfigFileError(file, `cannot parse: ${(error as Error).message}`);
  }
}

/** Reads a .json, .yaml or .yml config file and validates it. */
export async function loadPipelineConfig(file: string, registry: StageRegistry): Promise<PipelineConfig> {
  return parsePipelineConfig(await readConfigFile(file), registry, file);
}
