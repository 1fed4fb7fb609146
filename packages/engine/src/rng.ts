/**
 * Seeded pseudo-random streams for data and initial parameters. Every random choice the engine
 * makes comes from a stream named by a seed and labels (`stream(seed, 'init', layer)`), so that
 * changing one part of a trial (a layer's width, a feature's frequency, a feature knocked out)
 * leaves the random numbers of every other part unchanged: that is what makes a knocked-out
 * feature a true counterfactual. Pure JS and float64, so every backend starts from the same values.
 * The generator is sfc32 (a small, fast, well-tested 128-bit-state generator).
 */

/** A deterministic stream of random numbers. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the four state words; prefer `stream()`, which mixes a seed with labels. */
  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** A standard normal number (Box-Muller, one value per two uniforms, so streams stay aligned). */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** +1 or -1 with equal probability. */
  sign(): number {
    return this.u32() & 1 ? 1 : -1;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/** 32-bit hash step (murmur3 finalizer over a running value). */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The stream named by `seed` and `labels`: equal names give equal streams, different names independent ones. */
export function stream(seed: number, ...labels: (string | number)[]): Rng {
  let h = mix(0x9e3779b9, seed >>> 0);
  h = mix(h, Math.floor(seed / 4294967296) >>> 0);
  for (const l of labels) {
    if (typeof l === 'number') h = mix(mix(h, 0x6e756d), l >>> 0);
    else for (let i = 0; i < l.length; i++) h = mix(h, l.charCodeAt(i));
    h = mix(h, 0x2f);
  }
  return new Rng(h, mix(h, 1), mix(h, 2), mix(h, 3));
}
