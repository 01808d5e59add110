// deploy/local's own tests (the scripts npm start and npm test run), in the root jest run like every project's.
module.exports = { ...require('../../jest.preset.js'), displayName: 'deploy-local', rootDir: __dirname };
