/**
 * A small deterministic PRNG (mulberry32) for choices that must repeat from a seed: the sweep
 * sampler's random mode, and seeded fuzzing in tests (here so that packages below `@dynlab/spec`
 * can use the same one). Not for the engine's data and initial weights (its own sfc32 streams).
 */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
