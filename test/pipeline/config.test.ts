import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, ConfigFileError, loadPipelineConfig, parsePipelineConfig } from "../../pipeline/config.js";
import { FIXTURE_STAGES } from "./fixture-stages.js";

function problems(raw: unknown): string[] {
  try {
    parsePipelineConfig(raw, FIXTURE_STAGES, "test.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split("\n").slice(1).map((line) => line.trim());
    throw error;
  }
  throw new Error("config was accepted");
}

describe("pipeline config", () => {
  it("fills defaults and gives seeded stages the pipeline seed", () => {
    const config = parsePipelineConfig({ name: "demo", seed: 9, stages: { numbers: { count: 5 } } }, FIXTURE_STAGES);
    expect(config).toEqual({
      name: "demo",
      seed: 9,
      concurrency: 1,
      runsDir: "runs",
      stages: { numbers: { count: 5, chunk: 10, seed: 9, delayMs: 0 } },
    });
    const own = parsePipelineConfig({ name: "demo", stages: { numbers: { count: 5, seed: 3 } } }, FIXTURE_STAGES);
    expect((own.stages.numbers as { seed: number }).seed).toBe(3);
  });

  it("names the path, the expectation and the value found for every problem at once", () => {
    expect(
      problems({ name: "bad name!", concurrency: 0, stages: { numbers: { count: "many", chunk: 2.5 }, letters: {} } }),
    ).toEqual([
      `name: expected a run name of letters, digits, '.', '_' and '-'; found "bad name!"`,
      "concurrency: Too small: expected number to be >0; found 0",
      `stages.numbers.count: Invalid input: expected number, received string; found "many"`,
      "stages.numbers.chunk: Invalid input: expected int, received number; found 2.5",
      "stages.letters.text: Invalid input: expected string, received undefined; found nothing",
    ]);
  });

  it("rejects unknown stages and unknown fields", () => {
    expect(problems({ name: "x", stages: { numbrs: {} } })).toEqual([`stages: unknown field(s) "numbrs"; found ["numbrs"]`]);
    expect(problems({ name: "x", stages: { letters: { text: "a", colour: 1 } } })).toEqual([
      `stages.letters: unknown field(s) "colour"; found ["colour"]`,
    ]);
  });

  it("rejects a stage whose upstream stage is missing", () => {
    expect(problems({ name: "x", stages: { sum: {} } })).toEqual([
      `stages.sum: stage "sum" reads the output of stage "numbers"; add stages.numbers to the config; found {}`,
    ]);
  });

  it("names the file when it cannot be read or parsed", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-config-"));
    const broken = path.join(dir, "broken.yaml");
    await writeFile(broken, "name: [unclosed\n");
    await expect(loadPipelineConfig(broken, FIXTURE_STAGES)).rejects.toThrow(ConfigFileError);
    await expect(loadPipelineConfig(broken, FIXTURE_STAGES)).rejects.toThrow(`${broken}: cannot parse`);
    await expect(loadPipelineConfig(path.join(dir, "missing.json"), FIXTURE_STAGES)).rejects.toThrow("cannot read config (ENOENT)");
    const invalid = path.join(dir, "invalid.json");
    await writeFile(invalid, JSON.stringify({ name: "x", stages: { numbers: { count: -1 } } }));
    await expect(loadPipelineConfig(invalid, FIXTURE_STAGES)).rejects.toThrow(`invalid config ${invalid}:\n  stages.numbers.count`);
  });
});
