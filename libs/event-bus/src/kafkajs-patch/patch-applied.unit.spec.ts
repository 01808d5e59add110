// The kafkajs patches (patches/kafkajs+<version>.patch, see patches/README.md) are applied by patch-package in
// `postinstall`; an install that skipped it (some `npm install <pkg>` runs do not rerun postinstall) leaves the
// original kafkajs, which still works but slowly (1 ms timers on every connection, quadratic batching). This checks
// that every hunk's patched text is in node_modules/kafkajs, without a broker.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../../..');
const FIX = 'run `npx patch-package` (it applies patches/ to node_modules)';

interface Hunk {
  header: string;
  /** The hunk's lines as the patch leaves them: its context and added lines, in order. */
  after: string;
}

/** The hunks of a unified diff, per patched file (relative to the root: node_modules/…). */
function hunksOf(patch: string): Map<string, Hunk[]> {
  const files = new Map<string, Hunk[]>();
  let hunks: Hunk[] = [];
  let hunk: { header: string; lines: string[] } | null = null;
  const close = () => {
    if (hunk) hunks.push({ header: hunk.header, after: hunk.lines.join('\n') });
    hunk = null;
  };
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      close();
    } else if (line.startsWith('+++ b/')) {
      hunks = [];
      files.set(line.slice('+++ b/'.length), hunks);
    } else if (line.startsWith('@@')) {
      close();
      hunk = { header: line, lines: [] };
    } else if (hunk && (line.startsWith(' ') || line.startsWith('+'))) {
      hunk.lines.push(line.slice(1));
    }
  }
  close();
  return files;
}

const patches = readdirSync(join(root, 'patches')).filter((name) => /^kafkajs\+.*\.patch$/.test(name));

describe('kafkajs patches (patches/kafkajs+*.patch)', () => {
  it('there is exactly one, for the installed kafkajs version', () => {
    const installed = JSON.parse(readFileSync(join(root, 'node_modules/kafkajs/package.json'), 'utf8')).version;
    expect(patches).toEqual([`kafkajs+${installed}.patch`]);
  });

  it.each(patches)('%s is applied to node_modules/kafkajs', (name) => {
    const files = hunksOf(readFileSync(join(root, 'patches', name), 'utf8'));
    expect(files.size).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const [file, hunks] of files) {
      expect(hunks.length).toBeGreaterThan(0);
      const source = readFileSync(join(root, file), 'utf8');
      for (const { header, after } of hunks) {
        if (!source.includes(after)) missing.push(`${file} ${header} is not patched: ${FIX}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
