// Small real stages for exercising the runner: a seeded, checkpointed generator, a reducer over its output,
// and an independent stage.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { defineStage, type StageRegistry } from "../../pipeline/stage.js";

/** mulberry32 step: returns [value in [0, 1), next state]. */
function nextRandom(state: number): [number, number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, next];
}

export const numbersStage = defineStage({
  name: "numbers",
  version: "1",
  description: "seeded random numbers, written in checkpointed chunks",
  configSchema: z.strictObject({
    count: z.number().int().positive(),
    chunk: z.number().int().positive().default(10),
    seed: z.number().int(),
    delayMs: z.number().nonnegative().default(0),
  }),
  inputs: [],
  async run({ config, dir, progress, readCheckpoint, writeCheckpoint }) {
    const chunks = Math.ceil(config.count / config.chunk);
    let cursor = (await readCheckpoint<{ chunk: number; state: number }>("cursor")) ?? { chunk: 0, state: config.seed >>> 0 };
    await mkdir(path.join(dir, "chunks"), { recursive: true });
    for (let chunk = cursor.chunk; chunk < chunks; chunk++) {
      const values: string[] = [];
      let state = cursor.state;
      for (let i = chunk * config.chunk; i < Math.min(config.count, (chunk + 1) * config.chunk); i++) {
        let value: number;
        [value, state] = nextRandom(state);
        values.push(value.toFixed(6));
      }
      if (config.delayMs > 0) await sleep(config.delayMs);
      await writeFileAtomic(path.join(dir, "chunks", `${chunk}.txt`), values.join("\n") + "\n");
      cursor = { chunk: chunk + 1, state };
      await writeCheckpoint("cursor", cursor);
      progress(chunk + 1, chunks, "chunks");
    }
    const parts: string[] = [];
    for (let chunk = 0; chunk < chunks; chunk++) parts.push(await readFile(path.join(dir, "chunks", `${chunk}.txt`), "utf8"));
    await writeFileAtomic(path.join(dir, "numbers.txt"), parts.join(""));
    return { outputs: { numbers: "numbers.txt" }, metrics: { count: config.count } };
  },
});

export const sumStage = defineStage({
  name: "sum",
  version: "1",
  description: "sum of the generated numbers",
  configSchema: z.strictObject({ scale: z.number().default(1) }),
  inputs: ["numbers"],
  async run({ config, inputs, dir }) {
    const numbers = inputs.numbers;
    const text = await readFile(path.join(numbers.dir, numbers.manifest.outputs.numbers.path), "utf8");
    const sum = text.trim().split("\n").map(Number).reduce((total, value) => total + value, 0) * config.scale;
    await writeFile(path.join(dir, "sum.json"), JSON.stringify({ sum }));
    return { outputs: { sum: "sum.json" }, metrics: { sum } };
  },
});

export const lettersStage = defineStage({
  name: "letters",
  version: "1",
  description: "an independent stage",
  configSchema: z.strictObject({ text: z.string().min(1) }),
  inputs: [],
  async run({ config, dir }) {
    await writeFile(path.join(dir, "letters.txt"), config.text.toUpperCase());
    return { outputs: { letters: "letters.txt" } };
  },
});

export const failingStage = defineStage({
  name: "broken",
  version: "1",
  description: "always fails",
  configSchema: z.strictObject({ reason: z.string().default("broken on purpose") }),
  inputs: [],
  async run({ config }) {
    throw new Error(config.reason);
  },
});

export const FIXTURE_STAGES = [numbersStage, sumStage, lettersStage, failingStage] as unknown as StageRegistry;
