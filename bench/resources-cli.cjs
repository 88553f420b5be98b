// Cold-start probe for bench/resources.mjs: fetch one URL with the bundled resources layer and
// print its length. Usage: node resources-cli.cjs BUNDLE URL
const { fetchResource } = require(process.argv[2]);
fetchResource({ source: process.argv[3] }, { maxAttempts: 1 }).then(
  (b) => process.stdout.write(`${b.length}\n`),
  (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  },
);
