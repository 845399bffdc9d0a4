// Piscina worker entry for Othello generation: one shard per task (see generate.ts).

import { generateOthelloShard, type OthelloShard, type OthelloShardTask } from "./random-games.js";

export default function generateShard(task: OthelloShardTask): OthelloShard {
  return generateOthelloShard(task);
}
