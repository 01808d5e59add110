import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repoRoot = join(__dirname, '../../../../..');

/** A file's code as the README quotes it: without its leading comment lines (they say where it is quoted). */
function quotedPart(file: string): string {
  const lines = readFileSync(join(__dirname, file), 'utf8').trimEnd().split('\n');
  const firstCode = lines.findIndex((line) => !line.startsWith('//'));
  return lines.slice(firstCode).join('\n');
}

describe('the example service', () => {
  it('is quoted in libs/event-bus/README.md exactly as it is (the quote cannot drift from the compiled code)', () => {
    const readme = readFileSync(join(repoRoot, 'libs/event-bus/README.md'), 'utf8');

    expect(readme).toContain(`\`\`\`ts\n${quotedPart('device-counts.service.ts')}\n\`\`\``);
    expect(readme).toContain(`\`\`\`ts\n${quotedPart('main.ts')}\n\`\`\``);
  });
});
