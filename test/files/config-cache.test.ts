// The config cache between the Ignition-compatible stages (src/engine/load-config.ts): the fetch
// stage stamps the text it wrote (writer, version, SHA-256), and a later stage skips re-validating
// only when the stamp vouches for exactly the bytes it reads. Checked two ways:
//  - the trusted path (JSON.parse) gives the same config as the validating path (parseConfig) for
//    every config of Ignition's blackbox corpus at every registered version, once rendered;
//  - the bundled binary, run as dracut runs ignition: a stamped cache is used as is, while a cache
//    edited after the fact, a stamp of another version or no stamp at all is validated again, so
//    an invalid cache still fails the stage and writes nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { cacheStampPath, loadCachedConfig, writeCacheStamp } from '../../src/engine/load-config.js';
import { loadCorpus } from '../conformance/blackbox/corpus.js';
import { cleanupTemps, tempDir } from './helpers.js';

afterAll(cleanupTemps);

describe('the trusted cache gives the config the validating parse gives', () => {
  it('for every parsable config of the blackbox corpus, at every registered version', () => {
    let compared = 0;
    for (const c of loadCorpus().cases) {
      for (const version of c.registeredVersions) {
        let rendered;
        try {
          rendered = parseConfig(c.config.replace(/\$version/g, version)).config;
        } catch {
          continue; // invalid configs never reach the cache
        }
        const text = JSON.stringify(rendered);
        expect(JSON.parse(text), `${c.name} ${version}`).toEqual(parseConfig(text).config);
        compared++;
      }
    }
    // The corpus holds ~190 cases over up to 8 versions: most of them parse.
    expect(compared).toBeGreaterThan(500);
  });

  it('loadCachedConfig trusts only a matching stamp of this version', async () => {
    const dir = tempDir();
    const cache = path.join(dir, 'ignition.json');
    // Valid JSON, invalid config: a relative path. Only a validating parse notices.
    const bad = JSON.stringify({ ignition: { version: '3.6.0' }, storage: { files: [{ path: 'relative/x' }] } });
    writeFileSync(cache, bad);
    await expect(loadCachedConfig(cache)).rejects.toThrow(/failed to parse cached config/);
    // A stamp written for this very text vouches for it (that is the contract: only our fetch
    // stage stamps, and only what it validated).
    expect(await writeCacheStamp(cache, bad)).toBe(true);
    expect((await loadCachedConfig(cache)).trusted).toBe(true);
    // One byte changed after stamping: validated again.
    writeFileSync(cache, bad.replace('relative/x', 'relative/y'));
    await expect(loadCachedConfig(cache)).rejects.toThrow(/failed to parse cached config/);
    const good = JSON.stringify({ ignition: { version: '3.6.0' }, storage: { files: [{ path: '/x' }] } });
    writeFileSync(cache, good);
    expect(await loadCachedConfig(cache)).toEqual({ config: JSON.parse(good), trusted: false });
    await writeCacheStamp(cache, good);
    expect(await loadCachedConfig(cache)).toEqual({ config: JSON.parse(good), trusted: true });
    // Another version's stamp, a garbled stamp: not trusted, still loaded.
    const stamp = JSON.parse(readFileSync(cacheStampPath(cache), 'utf8')) as Record<string, unknown>;
    writeFileSync(cacheStampPath(cache), JSON.stringify({ ...stamp, version: '0.0.0-other' }));
    expect((await loadCachedConfig(cache)).trusted).toBe(false);
    writeFileSync(cacheStampPath(cache), '{"writer":');
    expect((await loadCachedConfig(cache)).trusted).toBe(false);
    rmSync(cacheStampPath(cache));
    expect((await loadCachedConfig(cache)).trusted).toBe(false);
    rmSync(cache);
    await expect(loadCachedConfig(cache)).rejects.toThrow(/couldn't read the config cache/);
  });
});

describe('the binary: fetch stamps the cache, files trusts only a matching stamp', () => {
  let bin = '';
  beforeAll(() => {
    if (process.env.KINDLING_BIN) {
      bin = process.env.KINDLING_BIN;
      return;
    }
    bin = path.join(tempDir('kindling-cache-bin-'), 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
  }, 120_000);

  function stage(dir: string, name: string, root?: string) {
    const args = ['-platform', 'file', '-stage', name, '-config-cache', path.join(dir, 'ignition.json'), '-state-file', path.join(dir, 'state'), '-log-to-stdout'];
    if (root) args.push('-root', root);
    const env = {
      PATH: process.env.PATH,
      IGNITION_CONFIG_FILE: path.join(dir, 'user.ign'),
      IGNITION_KERNEL_CMDLINE_PATH: path.join(dir, 'cmdline'),
      IGNITION_SYSTEM_CONFIG_DIR: path.join(dir, 'none'),
      IGNITION_SYSTEM_RUNTIME_CONFIG_DIR: path.join(dir, 'none'),
      IGNITION_SYSTEM_LOCAL_CONFIG_DIR: path.join(dir, 'none'),
      KINDLING_OEM_DIRS: path.join(dir, 'none'),
      KINDLING_LOG_LEVEL: 'debug',
    };
    const r = spawnSync(bin, args, { env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  const TRUSTED = /matches the stamp of the fetch stage: not validated again/;

  it('runs the files stage from the stamped cache, and validates an edited or unstamped one', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'cmdline'), 'console=ttyS0\n');
    const files = Array.from({ length: 20 }, (_, i) => ({ path: `/srv/d/f${i}`, mode: 0o640, contents: { source: `data:,file%20${i}%0A` } }));
    writeFileSync(path.join(dir, 'user.ign'), JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files } }));
    let r = stage(dir, 'fetch');
    expect(r.status, r.out).toBe(0);
    const cache = path.join(dir, 'ignition.json');
    expect(existsSync(cacheStampPath(cache))).toBe(true);

    const freshRoot = (n: string) => {
      const root = path.join(dir, n);
      mkdirSync(root);
      return root;
    };
    let root = freshRoot('r1');
    r = stage(dir, 'files', root);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(TRUSTED);
    expect(readFileSync(path.join(root, 'srv/d/f7'), 'utf8')).toBe('file 7\n');

    // The cache edited after the fetch stage (still valid JSON, now an invalid config): the hash
    // no longer matches, the files stage validates, refuses, and writes nothing.
    const text = readFileSync(cache, 'utf8');
    writeFileSync(cache, text.replace('"/srv/d/f3"', '"srv/d/f3"'));
    root = freshRoot('r2');
    r = stage(dir, 'files', root);
    expect(r.status, r.out).toBe(1);
    expect(r.out).not.toMatch(TRUSTED);
    expect(r.out).toMatch(/failed to parse cached config/);
    expect(existsSync(path.join(root, 'srv'))).toBe(false);

    // Valid again but no stamp (as when Ignition's own fetch stage wrote the cache): validated, runs.
    writeFileSync(cache, text);
    rmSync(cacheStampPath(cache));
    root = freshRoot('r3');
    r = stage(dir, 'files', root);
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toMatch(TRUSTED);
    expect(readFileSync(path.join(root, 'srv/d/f19'), 'utf8')).toBe('file 19\n');

    // A truncated cache under a stamp of the whole text: refused with the parse error.
    r = stage(dir, 'fetch');
    expect(r.status, r.out).toBe(0);
    writeFileSync(cache, text.slice(0, text.length - 10));
    r = stage(dir, 'files', freshRoot('r4'));
    expect(r.status, r.out).toBe(1);
    expect(r.out).toMatch(/failed to parse cached config/);
  });
});
