// Every stage the pipeline knows, each listed after the stages it reads. Stages adapt a module's plain functions
// (boards/, model/, data/, sae/, circuits/) to the runner; the modules themselves never import pipeline/.

import type { StageRegistry } from "../stage.js";
import { gamesStage } from "./games.js";

export const STAGES = [gamesStage] as unknown as StageRegistry;
