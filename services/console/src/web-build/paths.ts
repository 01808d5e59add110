import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's root, from the source tree or from dist/ (the first folder up that holds nx.json). */
export function repositoryRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no nx.json above ${from}`);
    dir = up;
  }
  return dir;
}

export const WEB_SOURCES = join(repositoryRoot(), 'services/console/web');
/** Where `npm run build` puts the front end, and where the console serves it from by default. */
export const BUILT_STATIC_DIR = join(repositoryRoot(), 'dist/services/console/public');
/** The budget for the front end's JavaScript. */
export const MAX_GZIPPED_JS_BYTES = 200 * 1024;
