module.exports = { ...require('../../jest.preset.js'), displayName: 'fake-providers', rootDir: __dirname };
