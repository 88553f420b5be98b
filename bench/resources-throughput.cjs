// Throughput probe for bench/resources.mjs, in a fresh process (the bench itself ran ncc, whose
// memory would swamp the figures): N sha512-verified fetches of BASE/big, CONC at a time, through
// the bundled openResource. Prints one JSON line.
// Usage: node resources-throughput.cjs BUNDLE BASE SHA512HEX N CONC SIZE
const { openResource, getLogger } = require(process.argv[2]);
getLogger();
const [base, hex] = [process.argv[3], process.argv[4]];
const [N, CONC, SIZE] = process.argv.slice(5, 8).map(Number);
const hash = `sha512-${hex}`;

async function one() {
  const t = performance.now();
  const s = await openResource({ source: `${base}/big`, verification: { hash } });
  let ttfb = -1;
  let n = 0;
  for await (const c of s) {
    if (ttfb < 0) ttfb = performance.now() - t;
    n += c.length;
  }
  if (n !== SIZE) throw new Error(`short read ${n}`);
  return ttfb;
}

(async () => {
  await one(); // warm the connection pool
  // Live Buffer memory, sampled (it also counts garbage not yet collected, so it is an upper bound).
  let maxAb = 0;
  const sampler = setInterval(() => (maxAb = Math.max(maxAb, process.memoryUsage().arrayBuffers)), 5);
  const ttfbs = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < N) {
        next++;
        ttfbs.push(await one());
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  process.stdout.write(JSON.stringify({ secs, ttfbs, maxArrayBuffers: maxAb, maxRss: process.resourceUsage().maxRSS * 1024 }) + '\n');
})().catch((e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
