// The trainer registry: every trainer's config schema in one discriminated union (on `trainer`), and the factory
// the sweep uses. Adding a trainer = its file in sae/trainers/ + one entry in each list below.
//
// Interface:
//   TRAINER_NAMES, trainerConfigSchema (zod discriminated union), TrainerConfig (its parsed type)
//   parseTrainerConfig(value, label) → TrainerConfig   (TrainerConfigError listing every problem with its path)
//   parseSaeConfig(schema, value, label)               the same for any schema (the sweep config)
//   createTrainer(config, context) → Trainer

import { z } from "zod";
import { gatedAnnealConfigSchema, GatedAnnealTrainer } from "./gated-anneal.js";
import { gatedConfigSchema, GatedTrainer } from "./gated.js";
import { jumpReluConfigSchema, JumpReluTrainer } from "./jumprelu.js";
import { pAnnealConfigSchema, PAnnealTrainer } from "./p-anneal.js";
import { standardConfigSchema, StandardTrainer } from "./standard.js";
import { topKConfigSchema, TopKTrainer } from "./topk.js";
import { batchTopKConfigSchema, BatchTopKTrainer } from "./batch-topk.js";
import { TrainerConfigError, type Trainer, type TrainerContext } from "./trainer.js";

export const trainerConfigSchema = z.discriminatedUnion("trainer", [standardConfigSchema, pAnnealConfigSchema, gatedConfigSchema, gatedAnnealConfigSchema, jumpReluConfigSchema, topKConfigSchema, batchTopKConfigSchema]);
export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
export type TrainerName = TrainerConfig["trainer"];
export const TRAINER_NAMES: readonly TrainerName[] = ["standard", "p_anneal", "gated", "gated_anneal", "jumprelu", "topk", "batch_topk"];

/** Parses `value` with a config schema, or throws TrainerConfigError listing every problem as "label.path: message". */
export function parseSaeConfig<Schema extends z.ZodType>(schema: Schema, value: unknown, label: string): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${[label, ...issue.path.map(String)].join(".")}: ${issue.message}`);
  throw new TrainerConfigError(problems.join("\n"));
}

/** Parses one trainer config; `label` (e.g. "trainers[3]") prefixes every problem. */
export function parseTrainerConfig(value: unknown, label: string): TrainerConfig {
  return parseSaeConfig(trainerConfigSchema, value, label);
}

export function createTrainer(config: TrainerConfig, context: TrainerContext): Trainer {
  switch (config.trainer) {
    case "standard":
      return new StandardTrainer(config, context);
    case "p_anneal":
      return new PAnnealTrainer(config, context);
    case "gated":
      return new GatedTrainer(config, context);
    case "gated_anneal":
      return new GatedAnnealTrainer(config, context);
    case "jumprelu":
      return new JumpReluTrainer(config, context);
    case "topk":
      return new TopKTrainer(config, context);
    case "batch_topk":
      return new BatchTopKTrainer(config, context);
  }
}
