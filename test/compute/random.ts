// Deterministic test data: a seeded PRNG (mulberry32) and arrays drawn from it.

/** A deterministic uniform [0, 1) generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale), deterministic in seed. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const next = seededRandom(seed);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (next() * 2 - 1) * scale;
  return values;
}
