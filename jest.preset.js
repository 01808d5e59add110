// Shared jest settings for every Nx project: swc transpiles TypeScript (with decorator metadata for
// NestJS) and the @push/* aliases resolve to the libraries' sources, so tests never need a build.
const path = require('node:path');
const fs = require('node:fs');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcrc.$schema;
swcrc.jsc.baseUrl = __dirname;
swcrc.swcrc = false;

// The three test tiers, told apart by file name: unit tests need neither broker nor database, integration tests run
// against the real Kafka and Postgres, end-to-end tests drive whole services. TEST_TIER selects one (the projects'
// test-unit, test-integration and test-e2e targets, `npm run test:<tier>`); unset, all three run. A spec file named
// otherwise would never run: tools/lint/test-tiers.unit.spec.ts fails on one.
const TIERS = { unit: '**/*.unit.spec.ts', integration: '**/*.int.spec.ts', e2e: '**/*.e2e.spec.ts' };
const tier = process.env.TEST_TIER;
if (tier && !TIERS[tier]) throw new Error(`TEST_TIER=${tier}: expected one of ${Object.keys(TIERS).join(', ')}`);

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcrc] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@push/(contracts|service-kit|event-bus|testing|providers|segments|fake-providers)$': path.join(
      __dirname,
      'libs/$1/src/index.ts',
    ),
  },
  testMatch: tier ? [TIERS[tier]] : Object.values(TIERS),
  setupFiles: ['reflect-metadata'],
};
