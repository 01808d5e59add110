module.exports = { ...require('../../jest.preset.js'), displayName: 'subscription-state', rootDir: __dirname };
