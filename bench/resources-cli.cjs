// Cold-start probe for bench/resources.mjs: load the bundled resources layer, fetch one URL, print
// {"bytes", "loadMs", "fetchMs"} (loadMs: requiring the bundle and creating the logger; fetchMs: the first fetchResource,
// which includes loading the scheme's modules: node:http etc. for http URLs).
// Usage: node resources-cli.cjs BUNDLE URL
const t0 = performance.now();
const { fetchResource, getLogger } = require(process.argv[2]);
getLogger(); // the binary always has its logger before it fetches anything
const t1 = performance.now();
fetchResource({ source: process.argv[3] }, { maxAttempts: 1 }).then(
  (b) => process.stdout.write(JSON.stringify({ bytes: b.length, loadMs: t1 - t0, fetchMs: performance.now() - t1 }) + '\n'),
  (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  },
);
