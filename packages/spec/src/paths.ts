/**
 * Field paths as users write them in sweep axes: `optimizer.learningRate`,
 * `data.features.features[1].frequency`.
 */
export type PathPart = string | number;

/** Splits `a.b[2].c` into ['a', 'b', 2, 'c']; throws on malformed paths. */
export function parsePath(path: string): PathPart[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(path)) {
    throw new Error(
      `malformed path '${path}' (expected names joined by '.', with [index] for lists)`,
    );
  }
  const parts: PathPart[] = [];
  for (const m of path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g))
    parts.push(m[1] ?? Number(m[2]));
  return parts;
}

/** Formats zod-style paths the way users write them: `axes[2].values`. */
export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** True when `parts` names an existing value inside `obj`. */
export function hasPath(obj: unknown, parts: readonly PathPart[]): boolean {
  let cur: unknown = obj;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return false;
    if (typeof p === 'number' ? !Array.isArray(cur) || p >= cur.length : !(p in cur)) return false;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return true;
}

/** Sets the value at `parts` in place (the path must exist, see `hasPath`). */
export function setPath(obj: unknown, parts: readonly PathPart[], value: unknown): void {
  let cur = obj as Record<string | number, unknown>;
  for (let i = 0; i < parts.length - 1; i++)
    cur = cur[parts[i] as string | number] as Record<string | number, unknown>;
  cur[parts[parts.length - 1] as string | number] = value;
}
