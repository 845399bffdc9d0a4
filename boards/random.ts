// Seeded random streams for data generation: xoshiro128** with its state derived from a 64-bit seed,
// so every game can own a stream that depends only on (dataset seed, game index).

/** A generator of uniform unsigned 32-bit integers. */
export type RandomStream = () => number;

/** murmur3's finaliser: a bijection on uint32, so distinct seed halves give distinct states. */
function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** xoshiro128** seeded by the 64-bit value seedHigh·2^32 + seedLow (both uint32). */
export function xoshiro128(seedHigh: number, seedLow: number): RandomStream {
  for (const [name, value] of [["seedHigh", seedHigh], ["seedLow", seedLow]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`xoshiro128: ${name} must be an integer in [0, 2^32), got ${value}`);
    }
  }
  let s0 = mix32(seedLow ^ 0x9e3779b9);
  let s1 = mix32(seedHigh ^ 0x7f4a7c15);
  let s2 = mix32((seedLow + seedHigh) ^ 0x243f6a88);
  let s3 = mix32(seedLow ^ seedHigh ^ 0xb7e15162) | 1; // never the all-zero state
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  for (let i = 0; i < 4; i++) next(); // warm-up: spread the seed over all state words
  return next;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A uniform integer in [0, n) by rejection sampling (exactly uniform, unlike modulo or scaling). */
export function randomBelow(random: RandomStream, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
    throw new RangeError(`randomBelow: n must be an integer in [1, 2^32], got ${n}`);
  }
  const limit = 0x100000000 - (0x100000000 % n); // largest multiple of n not above 2^32
  for (;;) {
    const value = random();
    if (value < limit) return value % n;
  }
}

/** The largest dataset seed: a game seed S·2^32 + i must fit the dataset's signed int64 `seed` column. */
export const MAX_DATASET_SEED = 0x7fffffff;
export const MAX_GAME_INDEX = 0xffffffff;

/** The PRNG seed of game `index` of a dataset (its `seed` column): one stream per game, whatever the sharding. */
export function gameSeed(datasetSeed: number, index: number): bigint {
  return (BigInt(datasetSeed) << 32n) | BigInt(index);
}

/** Checks a dataset seed and a range of game indices before generating games start..start+count−1. */
export function checkGameRange(generator: string, datasetSeed: number, start: number, count: number): void {
  if (!Number.isInteger(datasetSeed) || datasetSeed < 0 || datasetSeed > MAX_DATASET_SEED) {
    throw new RangeError(`${generator}: seed must be an integer in [0, 2^31), got ${datasetSeed}`);
  }
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count - 1 > MAX_GAME_INDEX) {
    throw new RangeError(`${generator}: games ${start}..${start + count - 1} exceed the index range [0, 2^32)`);
  }
}
