// The spec 1.x/2.x translators load only for a 1.x/2.x config (docs/startup.md): a boot with a 3.x
// config does not initialise them. The built binary says when their module is initialised
// (KINDLING_DEBUG_MODULES=1); each case runs it for real, in a scratch directory that stands in
// for every system path, and checks both that the marker is absent for 3.x and present for 2.x
// (so the check itself can fail), and that a 2.x config still works on every path that parses one.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fwCfgSandbox, kindling } from '../cli/helpers.js';

const MARKER = 'kindling: debug: module config/legacy initialised';
const V3 = JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/hostname', mode: 420, contents: { source: 'data:,node3' } }] } });
const V2 = JSON.stringify({ ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/etc/hostname', mode: 420, contents: { source: 'data:,node2' } }] } });
const V1 = JSON.stringify({ ignitionVersion: 1, systemd: { units: [{ name: 'x.service', enable: true, contents: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' }] } });

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kindling-lazy-legacy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A scratch system: fw_cfg directory holding `config`, optional base.d fragment; returns paths. */
function sandbox(config: string, baseFragment?: string) {
  const box = fwCfgSandbox(join(dir, String(n++)), config, { KINDLING_DEBUG_MODULES: '1' });
  if (baseFragment !== undefined) {
    mkdirSync(join(box.d, 'usr/base.d'), { recursive: true });
    writeFileSync(join(box.d, 'usr/base.d/10-base.ign'), baseFragment);
  }
  return box;
}

describe('the legacy translators load on demand', () => {
  it('a 3.x fetch-offline does not initialise them; a 2.x one does, and is translated', async () => {
    const v3 = sandbox(V3);
    const r3 = await kindling(v3.args, { env: v3.env });
    expect(r3.code, r3.stderr + r3.stdout).toBe(0);
    expect(JSON.parse(readFileSync(v3.cache, 'utf8')).storage.files[0].contents.source).toBe('data:,node3');
    expect(r3.stderr + r3.stdout).not.toContain(MARKER);

    const v2 = sandbox(V2);
    const r2 = await kindling(v2.args, { env: v2.env });
    expect(r2.code, r2.stderr + r2.stdout).toBe(0);
    expect(r2.stderr).toContain(MARKER);
    const rendered = JSON.parse(readFileSync(v2.cache, 'utf8'));
    expect(rendered.ignition.version).toBe('3.6.0');
    expect(rendered.storage.files[0]).toMatchObject({ path: '/etc/hostname', contents: { source: 'data:,node2' } });
  });

  it('a 2.x base.d fragment under a 3.x config loads them (the system config path)', async () => {
    const s = sandbox(V3, JSON.stringify({ ignition: { version: '2.1.0' }, storage: { files: [{ filesystem: 'root', path: '/etc/base', contents: { source: 'data:,b' } }] } }));
    const r = await kindling(s.args, { env: s.env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain(MARKER);
    // A later stage reads the cache (3.6) and the base fragment (2.1) again.
    const files = await kindling(['-platform', 'qemu', '-stage', 'files', '-root', join(s.d, 'root'), ...s.args.slice(4)], { env: s.env });
    expect(files.code, files.stderr + files.stdout).toBe(0);
    expect(readFileSync(join(s.d, 'root/etc/base'), 'utf8')).toBe('b');
    expect(readFileSync(join(s.d, 'root/etc/hostname'), 'utf8')).toBe('node3');
  });

  it('validate and plan: 3.x without them, 1.x and 2.x with them', async () => {
    const s = sandbox(V3);
    const files = { v1: V1, v2: V2, v3: V3 };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(s.d, `${name}.ign`), text);
    const v3 = await kindling(['validate', join(s.d, 'v3.ign')], { env: s.env });
    expect(v3.code, v3.stderr).toBe(0);
    expect(v3.stderr).not.toContain(MARKER);
    for (const name of ['v1', 'v2']) {
      const v = await kindling(['validate', join(s.d, `${name}.ign`)], { env: s.env });
      expect(v.code, v.stderr + v.stdout).toBe(0);
      expect(v.stderr).toContain(MARKER);
    }
    const plan = await kindling(['plan', join(s.d, 'v2.ign'), '--json'], { env: s.env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).sourceVersion).toBe('2.2.0');
    const plan3 = await kindling(['plan', join(s.d, 'v3.ign'), '--json'], { env: s.env });
    expect(plan3.code, plan3.stderr).toBe(0);
    expect(plan3.stderr).not.toContain(MARKER);
  });
});

describe('parseConfig and parseConfigAsync', () => {
  it('the synchronous parser takes 3.x at once and 1.x/2.x only once the translators are loaded', async () => {
    vi.resetModules();
    const cfg = await import('../../src/config/index.js');
    expect(cfg.parseConfig(V3).sourceVersion).toBe('3.3.0');
    expect(() => cfg.parseConfig(V2)).toThrow(cfg.LegacyTranslatorsNotLoaded);
    // The async parser loads them itself, and returns what the synchronous one then returns.
    const a = await cfg.parseConfigAsync(V2);
    expect(a.sourceVersion).toBe('2.2.0');
    expect(cfg.parseConfig(V2)).toEqual(a);
    expect((await cfg.parseConfigAsync(V1)).sourceVersion).toBe('1');
  });

  it('errors are the same either way', async () => {
    const cfg = await import('../../src/config/index.js');
    await cfg.loadLegacyTranslators();
    for (const text of ['', '{', '{"ignition": {"version": "2.9.0"}}', '{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "x"}]}}', '{"ignition": {"version": "2.2.0"}, "storage": {"files": [{"path": "/x"}]}}']) {
      let sync: unknown;
      try {
        cfg.parseConfig(text);
      } catch (e) {
        sync = e;
      }
      expect(sync, text).toBeDefined();
      await expect(cfg.parseConfigAsync(text), text).rejects.toEqual(sync);
    }
  });
});
