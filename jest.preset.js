// Shared jest settings for every Nx project: swc transpiles TypeScript (with decorator metadata for
// NestJS) and the @push/* aliases resolve to the libraries' sources, so tests never need a build.
const path = require('node:path');
const fs = require('node:fs');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcrc.$schema;
swcrc.jsc.baseUrl = __dirname;
swcrc.swcrc = false;

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcrc] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@push/(contracts|service-kit|event-bus|testing)$': path.join(__dirname, 'libs/$1/src/index.ts'),
  },
  testMatch: ['**/*.spec.ts'],
  setupFiles: ['reflect-metadata'],
};
