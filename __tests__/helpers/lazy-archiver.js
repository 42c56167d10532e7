// cdktf loads archiver as it loads (for zip assets, which nothing here makes): about 110 modules, a second per test
// file in jest's module loader. jest.config.js maps `archiver` here; this loads cdktf's own archiver on first call.
const { createRequire } = require('node:module');

module.exports = (...args) => createRequire(require.resolve('cdktf'))('archiver')(...args);
