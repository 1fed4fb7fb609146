/**
 * Bad messages for a given protobuf type, made from a seeded PRNG so a failure can be replayed:
 * random bytes that do not decode as the type, a valid message of the type cut short (so it no
 * longer decodes), and a valid message of another type. The first two are checked against the
 * type's own decoder here, so a test knows they are undecodable rather than hoping so.
 */
import { decode, type MessageType } from '@dynlab/proto';
import type { Rng } from './spec-fuzzer';

/** True when `bytes` do not decode as `type` (through the codec every service uses). */
export function undecodable<T>(type: MessageType<T>, bytes: Uint8Array): boolean {
  try {
    decode(type, bytes);
    return false;
  } catch {
    return true;
  }
}

/** `n` random byte strings (1-64 bytes) that `type` cannot decode. */
export function randomGarbage<T>(r: Rng, type: MessageType<T>, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (out.length < n) {
    const b = Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256));
    if (undecodable(type, b)) out.push(b);
  }
  return out;
}

/** `valid` cut at the longest prefix that `type` cannot decode. */
export function truncated<T>(type: MessageType<T>, valid: Uint8Array): Uint8Array {
  for (let cut = valid.length - 1; cut > 0; cut--)
    if (undecodable(type, valid.subarray(0, cut))) return valid.slice(0, cut);
  throw new RangeError('every prefix of the message decodes');
}
