// dist/kindling carries a V8 code cache for its own bundle (scripts/build.mjs, docs/startup.md).
// These run the built file for real: it is one file that plain node runs; it uses its cache when
// the node that runs it made it, and does exactly the same work without it (cache disabled, or
// refused by V8 because of a V8 flag); the initramfs loader (dracut-module/kindling-loader.cjs)
// reads the same file, with its own cache file or, without one, the file's.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KINDLING, REPO, fwCfgSandbox } from './helpers.js';

const LOADER = join(REPO, 'dracut-module', 'kindling-loader.cjs');
const CONFIG = JSON.stringify({
  ignition: { version: '3.3.0' },
  passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStartup test'] }] },
  storage: { files: [{ path: '/etc/hostname', mode: 420, contents: { source: 'data:,startup' } }] },
  systemd: { units: [{ name: 'docker.service', enabled: true }] },
});

let dir: string;
let n = 0;
beforeAll(() => {
  if (!existsSync(KINDLING)) throw new Error(`${KINDLING} is missing: run node scripts/build.mjs first`);
  dir = mkdtempSync(join(tmpdir(), 'kindling-startup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A scratch system (a fw_cfg directory holding `config`, a command line) and its environment. */
function scratch(config = CONFIG) {
  const { d, env } = fwCfgSandbox(join(dir, String(n++)), config, { KINDLING_DEBUG_CODE_CACHE: '1' });
  return { d, env };
}

/** Runs `node [nodeArgs] FILE args` in a scratch system; "$D" in args is its directory. */
function run(file: string, args: string[], opts: { nodeArgs?: string[]; env?: Record<string, string>; config?: string } = {}) {
  const { d, env } = scratch(opts.config);
  const expanded = args.map((a) => a.replaceAll('$D', d));
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), file, ...expanded], { env: { ...env, ...opts.env }, encoding: 'utf8' });
  return { d, code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const FETCH_OFFLINE = ['-platform', 'qemu', '-stage', 'fetch-offline', '-config-cache', '$D/config.json', '-state-file', '$D/state', '-neednet', '$D/neednet'];

describe('dist/kindling and its code cache', () => {
  it('is one executable file: #! line, loader line, fallback line, then the bundle and a raw cache in one comment', () => {
    const raw = readFileSync(KINDLING);
    const text = raw.toString('latin1');
    expect(statSync(KINDLING).mode & 0o111).not.toBe(0);
    const lines = text.split('\n', 3);
    // The kernel reads at most 255 bytes of a #! line; env -S gets the code in single quotes.
    expect(lines[0]).toMatch(/^#!\/usr\/bin\/env -S node -e '[^'\\$]+'$/);
    expect(lines[0].length).toBeLessThan(200);
    expect(lines[2]).toMatch(/^const f=__filename,/);
    const m = /^\/\/\/\*kindling-bundle 2\*\/\{const o=\[ *(\d+), *(\d+), *(\d+), *(\d+)\],p=\[([\d,]*)\];/.exec(lines[1]);
    expect(m, lines[1].slice(0, 120)).not.toBeNull();
    const [s0, s1, c0, c1] = m!.slice(1, 5).map(Number);
    expect(text.slice(s0 - 2, s0)).toBe('/*');
    expect(text.slice(c1)).toBe('*/\n');
    // Nothing inside can end the comment early: each star-slash is stored as star-NUL, at a listed offset.
    expect(text.slice(s0, c1)).not.toContain('*/');
    const patches = m![5] ? m![5].split(',').map(Number) : [];
    expect(patches.length).toBeGreaterThan(0); // the bundle has "*/*" Accept headers
    for (const x of patches) expect([raw[s0 + x - 1], raw[s0 + x]]).toEqual([0x2a, 0]);
    const restored = Buffer.from(raw);
    for (const x of patches) restored[s0 + x] = 0x2f;
    const source = restored.toString('latin1', s0, s1);
    expect(source.startsWith('(function (exports, require, module, __filename, __dirname) {')).toBe(true);
    expect(source.endsWith('\n})')).toBe(true);
    expect(/[^\x00-\x7f]/.test(source)).toBe(false);
    expect(c0).toBe(s1);
    expect(c1).toBeGreaterThan(c0 + 1000);
  });

  it('runs as a program (env -S node -e: node never parses the file) and uses its cache', () => {
    const { d, env } = scratch();
    const version = spawnSync(KINDLING, ['--version'], { env, encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^Kindling \d/);
    expect(version.stderr).toContain('kindling: code cache accepted');
    const args = FETCH_OFFLINE.map((a) => a.replaceAll('$D', d));
    const direct = spawnSync(KINDLING, args, { env, encoding: 'utf8' });
    expect(direct.status, direct.stderr).toBe(0);
    const viaNode = run(KINDLING, FETCH_OFFLINE);
    expect(viaNode.code, viaNode.stderr).toBe(0);
    expect(readFileSync(join(d, 'config.json'), 'utf8')).toBe(readFileSync(join(viaNode.d, 'config.json'), 'utf8'));
    // Started by a relative path (argv[1] is then relative for node -e): the loader still finds itself.
    const usage = spawnSync('./' + basename(KINDLING), ['no-such-command'], { env, encoding: 'utf8', cwd: dirname(KINDLING) });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('unknown command "no-such-command"');
  });

  it('runs with plain node and uses its cache', () => {
    const r = run(KINDLING, ['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Kindling \d/);
    expect(r.stderr).toContain('kindling: code cache accepted');
  });

  it('does the same work with its cache, without it, and when V8 refuses it', () => {
    const cached = run(KINDLING, FETCH_OFFLINE);
    const disabled = run(KINDLING, FETCH_OFFLINE, { env: { KINDLING_CODE_CACHE: '0' } });
    // Any V8 flag changes the flag hash a cache is checked against.
    const refused = run(KINDLING, FETCH_OFFLINE, { nodeArgs: ['--stack-size=2000'] });
    expect(cached.stderr).toContain('code cache accepted');
    expect(disabled.stderr).toContain('code cache disabled');
    expect(refused.stderr).toContain('code cache rejected');
    const outputs = [cached, disabled, refused].map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(r.d, 'config.json'), 'utf8');
    });
    expect(JSON.parse(outputs[0]).storage.files[0].contents.source).toBe('data:,startup');
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  });

  it('reports errors as before (usage error, exit 2; a bad config, exit 1)', () => {
    const usage = run(KINDLING, ['no-such-command']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "no-such-command"');
    const bad = run(KINDLING, ['validate', '$D/cmdline']);
    expect(bad.code).toBe(1);
  });

  it('a fw_cfg fetch-offline initialises neither node:crypto nor node:stream nor node:zlib; --version no streams', () => {
    // node -r PRELOAD (a node option, not a V8 flag: the cache is still taken) lists the built-in
    // modules loaded after start-up.
    const preload = join(dir, 'builtins.cjs');
    writeFileSync(
      preload,
      `const before = new Set(process.moduleLoadList);
process.on('exit', () => require('fs').writeSync(2, 'builtins: ' + process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n'));\n`,
    );
    const loaded = (r: { stderr: string }) => (/^builtins: (.*)$/m.exec(r.stderr)?.[1] ?? '').split(' ');
    // -log-to-stdout as in the initramfs: without it the logger asks whether stderr is a terminal,
    // and node's process.stderr loads the stream machinery (and node:net for a pipe).
    const small = run(KINDLING, [...FETCH_OFFLINE, '-log-to-stdout'], { nodeArgs: ['-r', preload] });
    expect(small.code, small.stderr).toBe(0);
    expect(small.stderr).toContain('code cache accepted');
    expect(loaded(small)).toContain('vm');
    for (const m of ['crypto', 'stream', 'zlib']) expect(loaded(small), small.stderr).not.toContain(m);
    // Without -log-to-stdout (Ignition's own units) and stderr on a pipe: still no streams or net.
    const piped = run(KINDLING, FETCH_OFFLINE, { nodeArgs: ['-r', preload] });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toContain('{"level":30');
    for (const m of ['crypto', 'stream', 'zlib', 'net', 'tty']) expect(loaded(piped), piped.stderr).not.toContain(m);
    // --version and --help print without process.stdout, whose stream machinery costs ~3 ms.
    for (const args of [['--version'], ['--help']]) {
      const r = run(KINDLING, args, { nodeArgs: ['-r', preload] });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Kindling');
      for (const m of ['stream', 'net', 'tty']) expect(loaded(r), `${args[0]}: ${r.stderr}`).not.toContain(m);
    }
    // The cache stamp's checksum: FNV-1a in JavaScript up to 256 KiB, so a 5 KB config loads no
    // crypto either; over 256 KiB node:crypto's SHA-256: the check sees it.
    const bigConfig = (n: number) => JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/big', contents: { source: 'data:,' + 'x'.repeat(n) } }] } });
    const mid = run(KINDLING, [...FETCH_OFFLINE, '-log-to-stdout'], { nodeArgs: ['-r', preload], config: bigConfig(5000) });
    expect(mid.code, mid.stderr).toBe(0);
    expect(loaded(mid)).not.toContain('crypto');
    const big = run(KINDLING, [...FETCH_OFFLINE, '-log-to-stdout'], { nodeArgs: ['-r', preload], config: bigConfig(300 * 1024) });
    expect(big.code, big.stderr).toBe(0);
    expect(loaded(big)).toContain('crypto');
  });

  it('logs for people on a terminal and JSON lines elsewhere, as before', () => {
    // script(1) runs the command on a pseudo-terminal (stdin, stdout and stderr).
    const { d, env } = scratch();
    const cmd = [process.execPath, KINDLING, ...FETCH_OFFLINE.map((a) => a.replaceAll('$D', d))].join(' ');
    const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { env, encoding: 'utf8' });
    expect(tty.status, tty.stdout + tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/^INFO {2}Stage: fetch-offline\r?$/m);
    expect(tty.stdout).not.toContain('"level"');
    const piped = run(KINDLING, FETCH_OFFLINE);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toMatch(/^\{"level":30,"time":"[^"]+","msg":"Stage: fetch-offline"\}$/m);
  });

  it('the initramfs loader runs the same file, makes its own cache and uses it', () => {
    const d = join(dir, 'initramfs');
    mkdirSync(d);
    const bundle = join(d, 'kindling.js');
    copyFileSync(KINDLING, bundle);
    // No cache file yet: the loader uses the file's own cache (V8 accepts it: no complaint).
    const first = run(LOADER, ['--version'], { env: { KINDLING_BUNDLE: bundle } });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Kindling \d/);
    expect(first.stderr).not.toContain('rejected');
    // What module-setup.sh does at initramfs build time: warm-up runs that write BUNDLE.cache.
    const warm = run(LOADER, ['--make-cache', ...FETCH_OFFLINE], { env: { KINDLING_BUNDLE: bundle } });
    expect(warm.code, warm.stderr).toBe(0);
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(1000);
    const again = run(LOADER, FETCH_OFFLINE, { env: { KINDLING_BUNDLE: bundle } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('rejected');
    expect(readFileSync(join(again.d, 'config.json'), 'utf8')).toBe(readFileSync(join(warm.d, 'config.json'), 'utf8'));
    // A cache V8 refuses (here: garbage) is reported and the bundle compiled as usual.
    writeFileSync(`${bundle}.cache`, Buffer.alloc(4096, 7));
    const refused = run(LOADER, ['--version'], { env: { KINDLING_BUNDLE: bundle } });
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stdout).toMatch(/^Kindling \d/);
    expect(refused.stderr).toContain('rejected by V8');
  });
});
