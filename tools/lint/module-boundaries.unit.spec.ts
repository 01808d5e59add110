// Module boundaries (eslint.config.mjs, @nx/enforce-module-boundaries): services and tools import libraries, never a
// service; libraries import only libraries. The rule needs Nx's project graph and, without one, skips every check with
// nothing but a warning — so these fixtures are linted as on a fresh clone: ESLint's own API, in a child process,
// with an empty Nx workspace-data directory. Should the rule be skipped or stop firing, the expected errors are
// missing and these tests fail.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');

interface Fixture {
  /** Where the source pretends to be (the file need not exist): it decides the importing project. */
  filePath: string;
  code: string;
}

interface Linted {
  filePath: string;
  boundaryErrors: string[];
  otherErrors: string[];
}

/** Lints the fixtures' text in one fresh process, as `eslint` would lint them at those paths. */
function lint(fixtures: Fixture[]): { linted: Linted[]; stdout: string } {
  const script = `
    const { ESLint } = require('eslint');
    (async () => {
      const fixtures = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      const eslint = new ESLint({ cwd: process.cwd() });
      const linted = [];
      for (const { filePath, code } of fixtures) {
        const [result] = await eslint.lintText(code, { filePath });
        const errors = result.messages.filter((m) => m.severity === 2);
        linted.push({
          filePath,
          boundaryErrors: errors.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message),
          otherErrors: errors.filter((m) => m.ruleId !== '@nx/enforce-module-boundaries').map((m) => m.ruleId + ': ' + m.message),
        });
      }
      process.stdout.write('\\nRESULT ' + JSON.stringify(linted) + '\\n');
    })().catch((e) => { console.error(e); process.exit(2); });`;
  const workspaceData = mkdtempSync(join(tmpdir(), 'nx-workspace-data-'));
  try {
    const run = spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      input: JSON.stringify(fixtures),
      encoding: 'utf8',
      // No project graph cached yet, as on a fresh clone (Nx keeps it under .nx/workspace-data by default).
      env: { ...process.env, NX_WORKSPACE_DATA_DIRECTORY: workspaceData, NX_DAEMON: 'false' },
    });
    if (run.status !== 0) throw new Error(`eslint failed (${run.status}): ${run.stderr}`);
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`no result from eslint: ${run.stdout}`);
    return { linted: JSON.parse(line.slice('RESULT '.length)), stdout: run.stdout };
  } finally {
    rmSync(workspaceData, { recursive: true, force: true });
  }
}

const ACROSS_PROJECTS = 'Projects cannot be imported by a relative or absolute path, and must begin with a npm scope';

describe('module boundaries (eslint, @nx/enforce-module-boundaries)', () => {
  let linted: Linted[];
  let stdout: string;
  let serviceToService: Linted, libToService: Linted, toolToService: Linted, serviceToLib: Linted;

  beforeAll(() => {
    ({ linted, stdout } = lint([
      {
        filePath: 'services/segmentation/src/boundary-fixture.ts',
        code: "import { tokenRegistryService } from '../../token-registry/src/service';\nexport const x = tokenRegistryService;\n",
      },
      {
        filePath: 'libs/event-bus/src/boundary-fixture.ts',
        code: "import { tokenRegistryService } from '../../../services/token-registry/src/service';\nexport const x = tokenRegistryService;\n",
      },
      {
        filePath: 'tools/bus/boundary-fixture.ts',
        code: "import { dispatcherService } from '../../services/dispatcher/src/service';\nexport const x = dispatcherService;\n",
      },
      {
        filePath: 'services/segmentation/src/boundary-fixture.ts',
        code: "import { EVENT_BUS_MIGRATIONS } from '@push/event-bus';\nexport const x = EVENT_BUS_MIGRATIONS;\n",
      },
    ]));
    [serviceToService, libToService, toolToService, serviceToLib] = linted;
  });

  it('the rule ran: no "No cached ProjectGraph is available. The rule will be skipped."', () => {
    expect(stdout).not.toMatch(/No cached ProjectGraph/);
  });

  it('a service importing another service is an error', () => {
    expect(serviceToService.boundaryErrors).toEqual([ACROSS_PROJECTS]);
  });

  it('a library importing a service is an error', () => {
    expect(libToService.boundaryErrors).toEqual([ACROSS_PROJECTS]);
  });

  it('a tool importing a service is an error', () => {
    expect(toolToService.boundaryErrors).toEqual([ACROSS_PROJECTS]);
  });

  it('a service importing a library by its @push alias is fine (the fixtures are otherwise valid code)', () => {
    expect(serviceToLib.boundaryErrors).toEqual([]);
    expect(linted.flatMap((l) => l.otherErrors)).toEqual([]);
  });

  // An alias to a service (a "@push/token-registry" path in tsconfig.base.json) would be refused by these tags.
  it('every project carries the tag its depConstraints name: type:service, type:lib, type:tool', () => {
    const tagsOf = (dir: string) => JSON.parse(readFileSync(join(root, dir, 'project.json'), 'utf8')).tags;
    const under = (dir: string) => readdirSync(join(root, dir)).map((name) => `${dir}/${name}`);
    for (const dir of under('services')) expect([dir, tagsOf(dir)]).toEqual([dir, ['type:service']]);
    for (const dir of under('libs')) expect([dir, tagsOf(dir)]).toEqual([dir, ['type:lib']]);
    expect(tagsOf('tools')).toEqual(['type:tool']);
  });
});
