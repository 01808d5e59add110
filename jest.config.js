// Runs every project's tests in one jest process (cheaper than one process per project on 2 cores).
// `nx run <project>:test` runs a single project's config instead.
module.exports = {
  projects: ['<rootDir>/libs/*/jest.config.js', '<rootDir>/services/*/jest.config.js'],
};
