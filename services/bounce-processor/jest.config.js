module.exports = { ...require('../../jest.preset.js'), displayName: 'bounce-processor', rootDir: __dirname };
