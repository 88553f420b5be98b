// The resources layer as one CommonJS bundle for bench/resources.mjs (built there with ncc; a .cjs
// entry makes ncc emit CommonJS, as scripts/entry.cjs does for dist/kindling). getLogger is
// exported so the probes can create the logger up front, as dist/kindling always does: otherwise
// pino's ~30 ms load would be billed to the first http fetch (the http module logs attempts).
module.exports = { ...require('../src/resources/index.ts'), getLogger: require('../src/log/logger.ts').getLogger };
