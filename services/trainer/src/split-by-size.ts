/**
 * Splits items into runs whose encoded sizes add up to at most `maxBytes` each (an item larger
 * than that goes alone). Deterministic: the same items give the same runs, so parts of a message
 * published again after a redelivery carry the same dedup ids.
 */
export function splitBySize<T>(
  items: readonly T[],
  size: (item: T) => number,
  maxBytes: number,
): T[][] {
  const parts: T[][] = [[]];
  let used = 0;
  for (const item of items) {
    const n = size(item) + 8; // the field's tag and length
    if (used + n > maxBytes && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      used = 0;
    }
    parts[parts.length - 1]!.push(item);
    used += n;
  }
  return parts;
}
