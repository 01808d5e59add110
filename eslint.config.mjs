import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';
import { createProjectGraphAsync } from '@nx/devkit';

// @nx/enforce-module-boundaries reads the project graph Nx caches under .nx/workspace-data; with none (a fresh clone,
// or a lint that no nx command preceded) it prints "No cached ProjectGraph is available. The rule will be skipped."
// and lets every import through. Computing the graph here (about 0.7 s on the 2-core machine; it writes that cache)
// makes every eslint run enforce the boundaries — `npm run lint`, `npm test`, `npx eslint <file>`, an editor — on a
// graph that is current. Proof: tools/lint/module-boundaries.unit.spec.ts.
await createProjectGraphAsync({ exitOnError: false });

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.data/**', '.cache/**', 'libs/contracts/src/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        module: 'writable',
        require: 'readonly',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // .tsx: the console's front end (services/console/web), under the same boundaries as its server.
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Services and tools may import libraries, never a service; libraries import only libraries. Tags are in each
      // project.json. An import across projects by a relative path is an error whatever the tags.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
          ],
        },
      ],
    },
  },
  {
    // Domain code is pure: decide/evolve over plain data, no framework, database or broker.
    files: ['services/*/src/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@nestjs/*',
                'typeorm',
                'kafkajs',
                'pg',
                '@push/service-kit',
                '@push/event-bus',
                'firebase-admin',
                '@parse/node-apn',
                'web-push',
              ],
              message: 'domain code must stay framework-free',
            },
          ],
        },
      ],
    },
  },
);
