// Jest finds tests by the tier in their file name (jest.preset.js): *.unit.spec.ts, *.int.spec.ts, *.e2e.spec.ts, under
// a jest project (libs/*, services/*, tools, deploy/local). A spec named or placed otherwise would silently never run.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '../..');
const NOT_SOURCES = new Set(['node_modules', 'dist', '.git', '.nx', '.data', '.cache', 'coverage']);

function specFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (NOT_SOURCES.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return specFiles(path);
    return /\.spec\.[cm]?[jt]s$/.test(entry.name) ? [relative(root, path)] : [];
  });
}

describe('test files', () => {
  it('every spec file names its tier and lies in a jest project, so that npm test runs it', () => {
    const files = specFiles(root);
    expect(files.length).toBeGreaterThan(0);
    const misplaced = files.filter(
      (file) => !/^(libs\/[^/]+|services\/[^/]+|tools|deploy\/local)\/.*\.(unit|int|e2e)\.spec\.ts$/.test(file),
    );
    expect(misplaced).toEqual([]);
  });
});
