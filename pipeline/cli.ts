#!/usr/bin/env node
import { createProgram } from "./program.js";
import { addActivationsCommands } from "./commands/activations.js";
import { addEvalCommands } from "./commands/eval.js";
import { addGamesCommands } from "./commands/games.js";
import { addModelCommands } from "./commands/model.js";
import { addProbeCommands } from "./commands/probe.js";
import { addSaeCommands } from "./commands/sae.js";
import { STAGES } from "./stages/index.js";

createProgram(STAGES, { games: addGamesCommands, model: addModelCommands, activations: addActivationsCommands, sae: addSaeCommands, eval: addEvalCommands, probe: addProbeCommands })
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`saec: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
