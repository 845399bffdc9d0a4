// The PRNG every SAE trainer owns (spec sae.md §1.5: one stream per trainer, seeded from its `seed`, default 42).
// A checkpoint must restore it exactly, and boards/random.ts's xoshiro128** keeps its state in a closure, so this
// wraps that generator and counts draws: the state is (seed, draws) and restoring replays the draws (an SAE's
// init is its bulk, d_in·d_sae draws, a few tens of milliseconds to replay at d_in 512, d_sae 8192).

import { xoshiro128, type RandomStream } from "../boards/random.js";

/** Everything needed to recreate a stream at the same position (JSON-serialisable). */
export interface RandomState {
  seed: number;
  draws: number;
}

/** Keeps SAE streams apart from the game-generation streams that use xoshiro128(datasetSeed, gameIndex). */
const SAE_STREAM_HIGH_WORD = 0x5ae5ae;

export class SaeRandom {
  private readonly stream: RandomStream;
  private drawCount = 0;
  /** Uniform uint32 draws (a boards/random.ts RandomStream, usable with model/init.ts fillNormal). */
  readonly next: RandomStream;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`SaeRandom: seed must be an integer in [0, 2^32), got ${seed}`);
    this.stream = xoshiro128(SAE_STREAM_HIGH_WORD, seed);
    this.next = () => {
      this.drawCount++;
      return this.stream();
    };
  }

  /** Uniform in [0, 1) with 32-bit resolution. */
  uniform(): number {
    return this.next() / 4294967296;
  }

  state(): RandomState {
    return { seed: this.seed, draws: this.drawCount };
  }

  /** A stream at the position `state` describes. */
  static restore(state: RandomState): SaeRandom {
    if (!Number.isSafeInteger(state.draws) || state.draws < 0) throw new RangeError(`SaeRandom.restore: draws must be a non-negative integer, got ${state.draws}`);
    const random = new SaeRandom(state.seed);
    for (let i = 0; i < state.draws; i++) random.stream();
    random.drawCount = state.draws;
    return random;
  }
}
