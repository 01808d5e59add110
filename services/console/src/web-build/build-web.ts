import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUILT_STATIC_DIR, WEB_SOURCES } from './paths';

export interface WebBuild {
  outDir: string;
  jsBytes: number;
  jsGzippedBytes: number;
}

/** Bundles the Preact front end with esbuild into one minified script, beside its page and stylesheet. */
export async function buildWeb(outDir = BUILT_STATIC_DIR): Promise<WebBuild> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(WEB_SOURCES, 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(WEB_SOURCES, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'app.css', 'favicon.svg'])
    copyFileSync(join(WEB_SOURCES, file), join(outDir, file));
  const js = readFileSync(join(outDir, 'app.js'));
  return { outDir: resolve(outDir), jsBytes: js.length, jsGzippedBytes: gzipSync(js, { level: 9 }).length };
}
