/**
 * Where the deployment files live. Tests read the repository's own files (not copies) so that a
 * change under deploy/ is checked as it is.
 */
import { join, resolve } from 'node:path';

/** The repository root. */
export const repoRoot = resolve(__dirname, '..', '..', '..');

/** `deploy/` of the repository. */
export const deployDir = join(repoRoot, 'deploy');
