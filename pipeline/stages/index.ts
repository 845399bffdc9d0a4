// Every stage the pipeline knows, each listed after the stages it reads. Stages adapt a module's plain functions
// (boards/, model/, data/, sae/, circuits/) to the runner; the modules themselves never import pipeline/.

import type { StageRegistry } from "../stage.js";
import { activationsStage } from "./activations.js";
import { evalStage } from "./eval.js";
import { gamesStage } from "./games.js";
import { modelStage } from "./model.js";
import { probeStage } from "./probe.js";
import { saeStage } from "./sae.js";

export const STAGES = [gamesStage, modelStage, activationsStage, saeStage, evalStage, probeStage] as unknown as StageRegistry;
