import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError } from "../../pipeline/config.js";
import { createProgram } from "../../pipeline/program.js";
import { FIXTURE_STAGES } from "./fixture-stages.js";

function capture(): { text: () => string } {
  let text = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return { text: () => text };
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("saec program", () => {
  it("has a description and --help on every command, and a group per stage with `run`", () => {
    const program = createProgram(FIXTURE_STAGES);
    for (const command of allCommands(program)) {
      expect(command.description(), command.name()).not.toBe("");
      expect(command.helpInformation()).toContain("--help");
    }
    const stageGroups = program.commands.filter((command) => FIXTURE_STAGES.some((stage) => stage.name === command.name()));
    expect(stageGroups.map((group) => group.commands.map((command) => command.name()))).toEqual(FIXTURE_STAGES.map(() => ["run"]));
  });

  it("runs a config, reports status, and runs one stage through its own command", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-program-"));
    const file = path.join(dir, "pipeline.yaml");
    await writeFile(file, `name: demo\nrunsDir: ${path.join(dir, "runs")}\nstages:\n  numbers: { count: 20 }\n  sum: {}\n  letters: { text: hi }\n`);
    const output = capture();
    await createProgram(FIXTURE_STAGES).parseAsync(["letters", "run", file], { from: "user" });
    expect(output.text()).toMatch(/^letters\s+ran\s/m);
    expect(output.text()).not.toContain("numbers");
    await createProgram(FIXTURE_STAGES).parseAsync(["status", path.join(dir, "runs", "demo")], { from: "user" });
    expect(output.text()).toMatch(/^numbers\s+pending\s/m);
    expect(output.text()).toMatch(/^letters\s+done\s/m);
    await createProgram(FIXTURE_STAGES).parseAsync(["run", file], { from: "user" });
    expect(output.text()).toMatch(/^sum\s+ran\s/m);
    expect(output.text()).toMatch(/^letters\s+skipped\s/m);
  });

  it("check prints the config with defaults, and rejects an invalid one before any work", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "saec-program-"));
    const good = path.join(dir, "good.json");
    await writeFile(good, JSON.stringify({ name: "x", stages: { numbers: { count: 3 } } }));
    const output = capture();
    await createProgram(FIXTURE_STAGES).parseAsync(["check", good], { from: "user" });
    expect(JSON.parse(output.text()).stages.numbers).toEqual({ count: 3, chunk: 10, seed: 42, delayMs: 0 });
    const bad = path.join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ name: "x", runsDir: path.join(dir, "runs"), stages: { numbers: { count: 0 } } }));
    await expect(createProgram(FIXTURE_STAGES).parseAsync(["run", bad], { from: "user" })).rejects.toThrow(ConfigError);
    await expect(createProgram(FIXTURE_STAGES).parseAsync(["run", bad], { from: "user" })).rejects.toThrow(
      "stages.numbers.count: Too small: expected number to be >0; found 0",
    );
    const { existsSync } = await import("node:fs");
    expect(existsSync(path.join(dir, "runs"))).toBe(false);
  });
});
