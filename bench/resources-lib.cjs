// The resources layer as one CommonJS bundle for bench/resources.mjs (built there with ncc; a .cjs
// entry makes ncc emit CommonJS, as scripts/entry.cjs does for dist/kindling).
module.exports = require('../src/resources/index.ts');
