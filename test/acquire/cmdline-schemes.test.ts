// What Ignition does with ignition.config.url= schemes its fetcher does not serve, measured with
// Debian's Ignition 2.14 (its /proc/cmdline replaced by a bind mount in a private mount namespace)
// and required of the built kindling:
//   file:///abs, file:rel, oem:///x, ftp://  fetch-offline: neednet, exit 0;  fetch: exit 1, "unsupported source scheme"
//   /bare/path (no scheme)                   both stages: an empty config (Ignition's fetcher returns nothing)
// and in every case the state file records no user config unless one was parsed.
// When the oracle can run here (root, unshare, Debian's ignition) each case is also run through it
// and the outcomes are compared; otherwise the table above (recorded from it) is the reference.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratch } from '../providers/helpers.js';

const ORACLE = '/usr/lib/dracut/modules.d/30ignition/ignition';
const canOracle = process.getuid?.() === 0 && existsSync(ORACLE) && spawnSync('unshare', ['--version']).status === 0;
let bin = process.env.KINDLING_BIN ?? '';
const dir = scratch('kindling-cmdline-schemes-');

beforeAll(() => {
  if (!bin) {
    bin = join(dir, 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
  }
  writeFileSync(join(dir, 'c.ign'), '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/x","contents":{"source":"data:,x"}}]}}');
}, 120_000);

interface Outcome {
  status: number;
  neednet: boolean;
  cache: boolean;
  state: string | null;
  out: string;
}

function outcome(status: number, out: string): Outcome {
  const o = {
    status,
    neednet: existsSync(join(dir, 'neednet')),
    cache: existsSync(join(dir, 'cache')),
    state: existsSync(join(dir, 'state')) ? readFileSync(join(dir, 'state'), 'utf8') : null,
    out,
  };
  for (const f of ['neednet', 'cache', 'state']) rmSync(join(dir, f), { force: true });
  return o;
}

const flags = (stage: string) => ['-platform', 'metal', '-stage', stage, '-config-cache', join(dir, 'cache'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-fetch-timeout', '5s', '-log-to-stdout'];

function kindling(url: string, stage: string): Outcome {
  writeFileSync(join(dir, 'cmdline'), `quiet ignition.config.url=${url}\n`);
  const r = spawnSync(bin, flags(stage), {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      IGNITION_KERNEL_CMDLINE_PATH: join(dir, 'cmdline'),
      IGNITION_SYSTEM_CONFIG_DIR: join(dir, 'none-usr'),
      IGNITION_SYSTEM_RUNTIME_CONFIG_DIR: join(dir, 'none-run'),
      IGNITION_SYSTEM_LOCAL_CONFIG_DIR: join(dir, 'none-etc'),
      KINDLING_OEM_DIRS: dir, // an OEM dir exists: oem:// is still refused on the command line
    },
  });
  return outcome(r.status ?? -1, r.stdout + r.stderr);
}

function ignition(url: string, stage: string): Outcome {
  writeFileSync(join(dir, 'cmdline'), `quiet ignition.config.url=${url}\n`);
  const script = `mount --bind ${join(dir, 'cmdline')} /proc/cmdline && exec ${ORACLE} ${flags(stage).join(' ')}`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
  return outcome(r.status ?? -1, r.stdout + r.stderr);
}

const BASE_ONLY = '{"fetchedConfigs":[{"kind":"base","source":"system","referenced":false}],"luksPersistKeyFiles":null,"notatedDirectories":null}';

describe('ignition.config.url schemes the fetcher does not serve', () => {
  const unsupported = [`file://${dir}/c.ign`, 'file:c.ign', 'oem:///config.ign', 'ftp://127.0.0.1/c.ign'];

  it.each(unsupported)('%s: fetch-offline signals neednet, fetch fails with "unsupported source scheme"', (url) => {
    const off = kindling(url, 'fetch-offline');
    expect(off, off.out).toMatchObject({ status: 0, neednet: true, cache: false });
    const on = kindling(url, 'fetch');
    expect(on).toMatchObject({ status: 1, neednet: false, cache: false, state: null });
    expect(on.out).toMatch(/unsupported source scheme "(file|oem|ftp)"/);
    if (canOracle) {
      const o1 = ignition(url, 'fetch-offline');
      const o2 = ignition(url, 'fetch');
      expect([o1.status, o1.neednet, o1.cache], o1.out).toEqual([off.status, off.neednet, off.cache]);
      expect([o2.status, o2.neednet, o2.cache, o2.state], o2.out).toEqual([on.status, on.neednet, on.cache, on.state]);
      expect(o2.out).toContain('unsupported source scheme');
    }
  });

  it('a bare path is no config in both stages, with the state of an empty config', () => {
    const url = join(dir, 'c.ign');
    for (const stage of ['fetch-offline', 'fetch']) {
      const k = kindling(url, stage);
      expect(k, k.out).toMatchObject({ status: 0, neednet: false, cache: true, state: `${BASE_ONLY}\n` });
      expect(k.out).toMatch(/has no URL scheme/);
      if (canOracle) {
        const o = ignition(url, stage);
        expect([o.status, o.neednet, o.cache, o.state], o.out).toEqual([k.status, k.neednet, k.cache, k.state]);
      }
    }
  });

  it.runIf(canOracle)('the oracle really runs (its log names the URL it parsed)', () => {
    const o = ignition('file:c.ign', 'fetch');
    expect(o.out).toContain('parsed url from cmdline: "file:c.ign"');
  });
});
