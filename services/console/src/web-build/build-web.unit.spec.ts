import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWeb } from './build-web';
import { MAX_GZIPPED_JS_BYTES, WEB_SOURCES, repositoryRoot } from './paths';

jest.setTimeout(60_000);

describe("the console's front end build", () => {
  let outDir: string;
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('bundles one script of at most 200 kB gzipped, beside its page, stylesheet and icon', async () => {
    outDir = mkdtempSync(join(tmpdir(), 'console-web-build-'));
    const built = await buildWeb(outDir);

    expect(built.jsGzippedBytes).toBeGreaterThan(1000);
    expect(built.jsGzippedBytes).toBeLessThanOrEqual(MAX_GZIPPED_JS_BYTES);
    expect(readFileSync(join(outDir, 'app.js'), 'utf8')).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it('its page needs nothing the strict CSP refuses: no inline script or style, nothing from another origin', () => {
    const html = readFileSync(join(WEB_SOURCES, 'index.html'), 'utf8');

    expect(html.match(/<script[^>]*>/g)).toEqual(['<script type="module" src="/app.js">']);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
  });

  it('type-checks (the .tsx pages are outside the root tsconfig, which has no DOM)', () => {
    const tsc = join(repositoryRoot(), 'node_modules/typescript/bin/tsc');
    expect(() =>
      execFileSync(process.execPath, [tsc, '-p', join(WEB_SOURCES, 'tsconfig.json')], { encoding: 'utf8' }),
    ).not.toThrow();
  });
});
