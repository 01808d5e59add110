module.exports = { ...require('../../jest.preset.js'), displayName: 'token-registry', rootDir: __dirname };
