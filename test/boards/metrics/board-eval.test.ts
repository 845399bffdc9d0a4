// evaluateDictionary's reuse of the firing pass: the labelling pass reads the firing sample's chunks kept sparse
// instead of encoding those rows again, and gives the same metrics as re-encoding them (budget 0) or as dropping the
// kept chunks half-way (a budget the sample outgrows).

import { beforeAll, describe, expect, it } from "vitest";
import type { GameRow } from "../../../boards/game-dataset.js";
import { gameSourceConfigSchema, generateGames } from "../../../boards/game-sources.js";
import { evaluateDictionary, type BoardEvaluationData } from "../../../boards/metrics/board-eval.js";
import { evaluationData } from "../../../boards/metrics/board-eval.js";
import type { Dictionary } from "../../../boards/metrics/dictionary.js";
import { boardFunctions } from "../../../boards/metrics/scored-games.js";
import { initTfjs } from "../../../compute/tfjs.js";
import { createGpt, disposeGpt } from "../../../model/gpt.js";
import { tinyTrainConfig } from "../../model/train-fixtures.js";
import { randomArray } from "../../compute/random.js";

const HOOK = "blocks.0.hook_resid_post";
const D = 16; // tinyTrainConfig d_model
const FEATURES = 48;
const CHUNK_ROWS = 100; // several chunks per set; the firing sample ends inside one

let data: BoardEvaluationData;

/** An SAE-like dictionary: ReLU(x·W − 0.02), sparse, with a count of the rows it encoded. */
function countingDictionary(): Dictionary & { encodedRows: number } {
  const W = randomArray(D * FEATURES, 77);
  const dictionary = {
    name: "projection",
    kind: "sae" as const,
    hook: HOOK,
    nFeatures: FEATURES,
    trainer: "standard",
    encodedRows: 0,
    encode(x: Float32Array, rows: number): Float32Array {
      dictionary.encodedRows += rows;
      const out = new Float32Array(rows * FEATURES);
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < FEATURES; f++) {
          let sum = -0.02;
          for (let i = 0; i < D; i++) sum += x[r * D + i] * W[i * FEATURES + f];
          out[r * FEATURES + f] = Math.max(0, sum);
        }
      }
      return out;
    },
  };
  return dictionary;
}

beforeAll(async () => {
  const source = gameSourceConfigSchema.parse({ game: "othello", source: "random", count: 40, seed: 12, splits: { train: 0, val: 0 } });
  const rows: GameRow[] = (await generateGames(source, { workers: 1 })).rows;
  const { tf } = await initTfjs();
  const model = createGpt(tf, tinyTrainConfig(5));
  data = evaluationData(model, { label: rows.slice(0, 20), recon: rows.slice(20) }, [HOOK], boardFunctions("othello"), { model: "tiny", dataset: "test", split: "test" });
  disposeGpt(model);
});

describe("evaluateDictionary's firing-pass reuse", () => {
  it("encodes every labelling and reconstruction row once, with the metrics of encoding the firing rows twice", () => {
    expect(data.fireRows % CHUNK_ROWS).not.toBe(0); // the firing sample ends inside a chunk
    const firingChunkRows = Math.min(Math.ceil(data.fireRows / CHUNK_ROWS) * CHUNK_ROWS, data.label.rows);

    const reused = countingDictionary();
    const withReuse = evaluateDictionary(reused, data, CHUNK_ROWS);
    expect(reused.encodedRows).toBe(data.label.rows + data.recon.rows);

    const again = countingDictionary();
    const reEncoded = evaluateDictionary(again, data, CHUNK_ROWS, 0);
    expect(again.encodedRows).toBe(data.label.rows + data.recon.rows + firingChunkRows);

    // a budget the first chunk fits and the sample outgrows: everything kept is dropped and encoded again
    const firstChunk = countingDictionary().encode(data.label.activations.get(HOOK)!.subarray(0, CHUNK_ROWS * D), CHUNK_ROWS);
    const dropped = countingDictionary();
    const overBudget = evaluateDictionary(dropped, data, CHUNK_ROWS, firstChunk.filter((v) => v !== 0).length + 1);
    expect(dropped.encodedRows).toBe(data.label.rows + data.recon.rows + firingChunkRows);

    expect(firstChunk.some((v) => v !== 0)).toBe(true);
    expect(withReuse.metrics.n_alive).toBeGreaterThan(FEATURES / 2);
    expect(withReuse).toEqual(reEncoded);
    expect(overBudget).toEqual(reEncoded);
  });

  it("never keeps a dense dictionary's chunks (the MLP neurons' encode is free)", () => {
    const neurons = { ...countingDictionary(), kind: "mlp-neurons" as const };
    const counted = countingDictionary();
    neurons.encode = (x, rows) => counted.encode(x, rows);
    evaluateDictionary(neurons, data, CHUNK_ROWS);
    const firingChunkRows = Math.min(Math.ceil(data.fireRows / CHUNK_ROWS) * CHUNK_ROWS, data.label.rows);
    expect(counted.encodedRows).toBe(data.label.rows + data.recon.rows + firingChunkRows);
  });
});
