// SSH keys written as the user (src/system/as-user.ts): the files stage of `kindling apply CONFIG
// --root DIR` on a directory root holding USERS existing users (uid 1000+i, homes of their own),
// each with one key. Prints, per binary, the median and range of (a) the whole command's wall time
// and (b) the time the user.ssh-keys operations took together (from the log's op timestamps).
// Needs root (keys are written as each user).
//
//   node bench/ssh-keys.mjs [RUNS] BIN [BIN2 ...]      (binaries alternate run by run)
//   USERS=10 (default)
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const runs = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 7;
const bins = args.length ? args : ['dist/kindling'];
const USERS = Number(process.env.USERS ?? 10);
if (process.getuid?.() !== 0) {
  console.error('needs root (keys are written as each user)');
  process.exit(2);
}

const work = mkdtempSync(path.join(tmpdir(), 'kindling-bench-keys-'));
chmodSync(work, 0o755);
const config = path.join(work, 'c.ign');
writeFileSync(
  config,
  JSON.stringify({
    ignition: { version: '3.3.0' },
    passwd: { users: Array.from({ length: USERS }, (_, i) => ({ name: `u${i}`, sshAuthorizedKeys: [`ssh-ed25519 AAAAC3Nza${i} u${i}`] })) },
  }),
);

function freshRoot() {
  const r = path.join(work, 'root');
  rmSync(r, { recursive: true, force: true });
  mkdirSync(path.join(r, 'etc'), { recursive: true, mode: 0o755 });
  const p = ['root:x:0:0:root:/root:/bin/bash'];
  const g = ['root:x:0:'];
  const s = ['root:*:1:0:::::'];
  const gs = ['root:*::'];
  for (let i = 0; i < USERS; i++) {
    p.push(`u${i}:x:${1000 + i}:${1000 + i}::/home/u${i}:/bin/sh`);
    g.push(`u${i}:x:${1000 + i}:`);
    s.push(`u${i}:*:1:0:::::`);
    gs.push(`u${i}:*::`);
    mkdirSync(path.join(r, `home/u${i}`), { recursive: true });
    chownSync(path.join(r, `home/u${i}`), 1000 + i, 1000 + i);
  }
  writeFileSync(path.join(r, 'etc/passwd'), p.join('\n') + '\n');
  writeFileSync(path.join(r, 'etc/group'), g.join('\n') + '\n');
  writeFileSync(path.join(r, 'etc/shadow'), s.join('\n') + '\n', { mode: 0o640 });
  writeFileSync(path.join(r, 'etc/gshadow'), gs.join('\n') + '\n', { mode: 0o640 });
  return r;
}

const results = new Map(bins.map((b) => [b, { wall: [], keys: [] }]));
try {
  for (let n = 0; n < runs; n++) {
    for (const bin of bins) {
      const root = freshRoot();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(bin, ['apply', config, '--root', root], { encoding: 'utf8' });
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr}${r.stdout}`);
      // Sum of the ssh-keys operations: [started] to [finished] of each.
      let keys = 0;
      const started = new Map();
      for (const line of (r.stdout + r.stderr).split('\n')) {
        if (!line.startsWith('{')) continue;
        const j = JSON.parse(line);
        const m = /^op\((\w+)\): \[(started|finished)\]\s+write \d+ SSH key/.exec(j.msg ?? '');
        if (!m) continue;
        if (m[2] === 'started') started.set(m[1], Date.parse(j.time));
        else keys += Date.parse(j.time) - started.get(m[1]);
      }
      results.get(bin).wall.push(wall);
      results.get(bin).keys.push(keys);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (a) => `median ${med(a).toFixed(0)} ms (${Math.min(...a).toFixed(0)}-${Math.max(...a).toFixed(0)})`;
console.log(`${USERS} users with keys, ${runs} runs each, alternating`);
for (const [bin, r] of results) {
  console.log(`${bin}\n  apply wall: ${fmt(r.wall)}\n  user.ssh-keys ops together: ${fmt(r.keys)} (${(med(r.keys) / USERS).toFixed(1)} ms per user)`);
}
