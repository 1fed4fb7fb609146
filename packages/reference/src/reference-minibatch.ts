/**
 * The minibatch order of a trial, reimplemented from its specification (not shared with the
 * engine, so a test comparing the two checks both).
 *
 * Specification: usesMinibatches = optimizer not gd and 0 < batchSize < n. Epoch e is the
 * Fisher-Yates permutation (i from n-1 down to 1 swaps with floor(u * (i + 1))) drawn from an sfc32
 * generator seeded by hashing (trial seed, high word of the seed, the characters of "batches", the
 * number e) with the murmur3 finalizer, and cut into floor(n / batchSize) consecutive batches;
 * u is a 53-bit uniform built from two 32-bit outputs (27 and 26 high bits).
 */

const u32 = (v: number) => v >>> 0;

function murmurStep(h: number, v: number): number {
  let x = Math.imul(h ^ v, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return u32(x ^ (x >>> 16));
}

function* sfc32(a: number, b: number, c: number, d: number): Generator<number, never> {
  for (let n = 0; ; n++) {
    const t = u32(u32(a + b) + d);
    d = u32(d + 1);
    a = b ^ (b >>> 9);
    b = u32(c + (c << 3));
    c = u32(((c << 21) | (c >>> 11)) + t);
    if (n >= 12) yield t;
  }
}

/** The sample indices, in order, of the epoch-`epoch` permutation of `n` samples for a trial seed. */
export function epochOrder(seed: number, n: number, epoch: number): number[] {
  let h = murmurStep(murmurStep(0x9e3779b9, u32(seed)), u32(Math.floor(seed / 2 ** 32)));
  for (const ch of 'batches') h = murmurStep(h, ch.charCodeAt(0));
  h = murmurStep(h, 0x2f);
  h = murmurStep(murmurStep(murmurStep(h, 0x6e756d), u32(epoch)), 0x2f);
  const words = sfc32(h, murmurStep(h, 1), murmurStep(h, 2), murmurStep(h, 3));
  const uniform = () =>
    ((words.next().value >>> 5) * 2 ** 26 + (words.next().value >>> 6)) / 2 ** 53;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The rows of step `step`'s minibatch for a trial with the given seed, n and batch size. */
export function batchRows(seed: number, n: number, batchSize: number, step: number): number[] {
  const perEpoch = Math.floor(n / batchSize);
  const k = step % perEpoch;
  return epochOrder(seed, n, Math.floor(step / perEpoch)).slice(k * batchSize, (k + 1) * batchSize);
}
