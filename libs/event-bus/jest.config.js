module.exports = { ...require('../../jest.preset.js'), displayName: 'event-bus', rootDir: __dirname };
