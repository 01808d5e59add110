// Runs every project's tests in one jest process (cheaper than one process per project on 2 cores); TEST_TIER
// selects a tier (see jest.preset.js). `nx run <project>:test` (or :test-unit, :test-integration, :test-e2e) runs a
// single project's config instead.
module.exports = {
  projects: [
    '<rootDir>/libs/*/jest.config.js',
    '<rootDir>/services/*/jest.config.js',
    '<rootDir>/tools/jest.config.js',
    '<rootDir>/deploy/local/jest.config.js',
  ],
};
