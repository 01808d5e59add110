module.exports = { ...require('../../jest.preset.js'), displayName: 'segments', rootDir: __dirname };
