// `kindling validate`: exit codes and output, run in-process on real files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runValidate } from '../../src/cli/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'kindling-validate-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('kindling validate', () => {
  it('exits 0 and prints warnings for a valid config', async () => {
    const io = capture();
    const code = await runValidate([file('ok.ign', '{"ignition": {"version": "3.3.0"}, "extra": true,\n"storage": {"files": [{"path": "/a", "mode": 2541}]}}')]);
    expect(code).toBe(0);
    expect(io.out.join('')).toBe(
      'warning at $.extra, line 1 col 36: Unused key extra\n' +
        'warning at $.storage.files.0.mode, line 2 col 46: setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0\n',
    );
  });

  it('exits 1 and prints every error', async () => {
    const io = capture();
    const code = await runValidate([file('bad.ign', '{"ignition": {"version": "3.6.0"}, "storage": {"files": [{"path": "a"}, {"path": "/b", "mode": 9999}]}}')]);
    expect(code).toBe(1);
    expect(io.out.join('')).toBe(
      'error at $.storage.files.0.path, line 1 col 67: path not absolute\n' + 'error at $.storage.files.1.mode, line 1 col 96: illegal file mode\n',
    );
  });

  it('names top-level failures on stderr like ignition-validate', async () => {
    const io = capture();
    expect(await runValidate([file('v.ign', '{"ignition": {"version": "3.9.0"}}')])).toBe(1);
    expect(io.err.join('')).toBe("couldn't parse config: unsupported config version\n");
    expect(await runValidate([file('e.ign', '')])).toBe(1);
    expect(io.err.join('')).toContain("couldn't parse config: not a config (empty)\n");
  });

  it('prints JSON with --json', async () => {
    const io = capture();
    expect(await runValidate(['--json', file('j.ign', '{"ignition": {"version": "3.6.0"}, "storage": {"files": [{"path": "a"}]}}')])).toBe(1);
    const doc = JSON.parse(io.out.join(''));
    expect(doc.valid).toBe(false);
    expect(doc.entries).toEqual([{ kind: 'error', message: 'path not absolute', location: { pointer: '/storage/files/0/path', line: 1, column: 67 } }]);
  });

  it('refuses bad usage', async () => {
    await expect(runValidate([])).rejects.toThrow(/exactly one config file/);
    await expect(runValidate(['--frobnicate', 'x'])).rejects.toThrow(/unknown option/);
  });
});
