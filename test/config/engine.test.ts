// Unit tests of the config engine: positions, versions, translation, merge, defaults, CLI output.
import { describe, expect, it } from 'vitest';
import { KindlingError } from '../../src/errors.js';
import { emptyConfig, mergeConfigs, parseConfig, resolveTimeouts, validateConfig } from '../../src/config/index.js';
import { parseJson, JsonSyntaxError } from '../../src/config/json/parse.js';
import { parseSemver, supportedSpec } from '../../src/config/version.js';
import { formatEntry, pointerToDollar } from '../../src/cli/validate.js';
import type { Config } from '../../src/config/types.js';

function failure(text: string): KindlingError {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof KindlingError) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('JSON positions', () => {
  it('records where values and keys start', () => {
    const p = parseJson('{\n  "a": [1,\n    {"b": "x"}]\n}');
    // Objects and arrays just inside the bracket, as go-json (and so ignition-validate) places them.
    expect(p.valueAt.get('/a')).toEqual({ line: 2, column: 9 });
    expect(p.valueAt.get('/a/1/b')).toEqual({ line: 3, column: 11 });
    expect(p.keyAt.get('/a/1/b')).toEqual({ line: 3, column: 6 });
  });

  it('reports syntax errors in Go words with line and column', () => {
    expect(() => parseJson('{"a": 1,\n}')).toThrow(JsonSyntaxError);
    try {
      parseJson('{"a": 1,\n}');
    } catch (err) {
      expect((err as JsonSyntaxError).message).toBe("invalid character '}' looking for beginning of object key string");
      // One past the offending character, as ignition-validate prints Go's offset.
      expect((err as JsonSyntaxError).position).toEqual({ line: 2, column: 2 });
    }
    expect(() => parseJson('{"a": tru}')).toThrow("invalid character '}' in literal true (expecting 'e')");
    expect(() => parseJson('{"a": 1} x')).toThrow("invalid character 'x' after top-level value");
    expect(() => parseJson('{"a": ')).toThrow('unexpected end of JSON input');
  });

  it('keeps the last of duplicate keys, like Go', () => {
    expect(parseJson('{"a": 1, "a": 2}').value).toEqual({ a: 2 });
  });

  it('gives every validation error a pointer, line and column', () => {
    const text = '{\n  "ignition": {"version": "3.4.0"},\n  "storage": {\n    "files": [{"path": "/a", "mode": 99999}]\n  }\n}';
    const err = failure(text);
    expect(err.message).toBe('config is not valid');
    expect(err.entries).toEqual([
      { kind: 'error', message: 'illegal file mode', location: { pointer: '/storage/files/0/mode', line: 4, column: 38 } },
    ]);
  });

  it('points a missing field at its enclosing object', () => {
    const err = failure('{"ignition": {"version": "3.6.0"},\n"storage": {"files": [ {"mode": 420} ]}}');
    expect(err.entries[0]).toMatchObject({ message: 'path not specified', location: { pointer: '/storage/files/0/path', line: 2, column: 25 } });
  });

  it('reports only the first type error, with Go names of element types (as ignition-validate)', () => {
    const err = failure('{"ignition": {"version": "3.3.0"}, "passwd": {"users": [{"name": "a", "sshAuthorizedKeys": [1], "groups": [2]}]}}');
    expect(err.entries).toHaveLength(1);
    expect(err.entries[0].message).toBe('json: cannot unmarshal number into Go struct field PasswdUser.passwd.users.sshAuthorizedKeys of type types.SSHAuthorizedKey');
    expect(failure('{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "/a", "user": "x"}]}}').entries[0].location).toMatchObject({ line: 1, column: 84 });
  });

  it('reports type errors in Go words', () => {
    const err = failure('{"ignition": {"version": "3.6.0"}, "storage": {"files": [{"path": "/a", "mode": "0644"}]}}');
    expect(err.entries[0].message).toBe('json: cannot unmarshal string into Go struct field File.storage.files.mode of type int');
    expect(failure('{"ignition": {"version": "3.6.0"}, "passwd": {"users": [{"name": "a", "uid": 1.5}]}}').entries[0].message).toBe(
      'json: cannot unmarshal number 1.5 into Go struct field PasswdUser.passwd.users.uid of type int',
    );
  });
});

describe('versions', () => {
  it('reads versions the way go-semver does', () => {
    expect(parseSemver('3.3.0')).toMatchObject({ major: 3, minor: 3, patch: 0 });
    expect(parseSemver('3.3')).toBeNull();
    expect(parseSemver('3.3.0.1')).toBeNull();
    expect(parseSemver('v3.3.0')).toBeNull();
    expect(supportedSpec(parseSemver('3.7.0-experimental')!)).toBe('3.7.0-experimental');
    expect(supportedSpec(parseSemver('3.6.0-experimental')!)).toBeUndefined();
    expect(supportedSpec(parseSemver('3.3.0+meta')!)).toBeUndefined();
  });

  it('gives Ignition top-level errors', () => {
    expect(failure('').message).toBe('not a config (empty)');
    expect(failure('{}').message).toBe("invalid config version (couldn't parse)");
    expect(failure('{"ignition": {"version": "3.3"}}').message).toBe("invalid config version (couldn't parse)");
    expect(failure('{"ignition": {"version": "3.8.0-experimental"}}').message).toBe('unsupported config version');
    expect(failure('{"ignition": {"version": "4.0.0"}}').kind).toBe('config-version');
  });

  it('decodes keys case-insensitively but warns about them', () => {
    const res = parseConfig('{"Ignition": {"Version": "3.2.0"}, "storage": {"files": [{"PATH": "/a"}]}}');
    expect(res.config.storage?.files?.[0].path).toBe('/a');
    expect(res.report.map((e) => e.message)).toEqual(['Unused key Ignition', 'Unused key Version', 'Unused key PATH']);
  });
});

describe('translation to 3.6', () => {
  it('drops nulls and sets the newest version', () => {
    const res = parseConfig('{"ignition": {"version": "3.0.0", "config": null}, "storage": {"files": [{"path": "/a", "mode": null, "contents": {"source": "data:,x", "verification": {"hash": null}}}]}}');
    expect(res.sourceVersion).toBe('3.0.0');
    expect(res.config).toEqual({ ignition: { version: '3.6.0' }, storage: { files: [{ path: '/a', contents: { source: 'data:,x', verification: {} } }] } });
  });

  it('keeps 3.7.0-experimental as itself', () => {
    expect(parseConfig('{"ignition": {"version": "3.7.0-experimental"}}').config.ignition.version).toBe('3.7.0-experimental');
  });

  it('ignores fields a version does not have (a warning, as Ignition)', () => {
    const res = parseConfig('{"ignition": {"version": "3.1.0"}, "kernelArguments": {"shouldExist": ["a"]}}');
    expect(res.config.kernelArguments).toBeUndefined();
    expect(res.report[0]).toMatchObject({ kind: 'warning', message: 'Unused key kernelArguments', location: { pointer: '/kernelArguments' } });
  });

  it('warns about special mode bits before 3.4 only', () => {
    const cfg = (v: string) => `{"ignition": {"version": "${v}"}, "storage": {"files": [{"path": "/a", "mode": 2541}]}}`;
    expect(parseConfig(cfg('3.3.0')).report[0].message).toMatch(/setuid\/setgid\/sticky/);
    expect(parseConfig(cfg('3.4.0')).report).toEqual([]);
  });

  it('checks sha256 hashes only from 3.1', () => {
    const cfg = (v: string) => `{"ignition": {"version": "${v}"}, "storage": {"files": [{"path": "/a", "contents": {"source": "data:,x", "verification": {"hash": "sha256-${'a'.repeat(64)}"}}}]}}`;
    expect(failure(cfg('3.0.0')).entries[0].message).toBe('unrecognized hash function');
    expect(() => parseConfig(cfg('3.1.0'))).not.toThrow();
  });
});

describe('merge', () => {
  const parent: Config = {
    ignition: { version: '3.6.0', timeouts: { httpTotal: 5 } },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['a'] }, { name: 'x', uid: 5 }] },
    storage: {
      files: [{ path: '/etc/a', mode: 0o600, contents: { source: 'data:,a' } }, { path: '/etc/same' }],
      directories: [{ path: '/d' }],
      disks: [{ device: '/dev/vda', partitions: [{ number: 9, label: 'ROOT' }, { label: 'DATA', sizeMiB: 10 }] }],
    },
    systemd: { units: [{ name: 'a.service', enabled: true, dropins: [{ name: '1.conf', contents: '[Unit]\nA=1' }] }] },
    kernelArguments: { shouldExist: ['quiet'] },
  };
  const child: Config = {
    ignition: { version: '3.6.0', timeouts: { httpResponseHeaders: 3 } },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['a', 'b'], shell: '/bin/zsh' }, { name: 'new' }] },
    storage: {
      files: [{ path: '/etc/a', contents: { source: 'data:,b' } }, { path: '/d' }],
      links: [{ path: '/etc/same', target: '/x' }],
      disks: [{ device: '/dev/vda', partitions: [{ number: 9, resize: true }, { label: 'DATA', sizeMiB: 20 }] }],
    },
    systemd: { units: [{ name: 'a.service', dropins: [{ name: '1.conf', contents: '[Unit]\nB=2' }, { name: '2.conf' }] }] },
    kernelArguments: { shouldNotExist: ['quiet'] },
  };
  const merged = mergeConfigs(parent, child);

  it('merges keyed entries field by field, child wins, order kept', () => {
    expect(merged.ignition.timeouts).toEqual({ httpTotal: 5, httpResponseHeaders: 3 });
    expect(merged.passwd?.users).toEqual([{ name: 'core', sshAuthorizedKeys: ['a', 'b'], shell: '/bin/zsh' }, { name: 'x', uid: 5 }, { name: 'new' }]);
    expect(merged.storage?.files?.[0]).toEqual({ path: '/etc/a', mode: 0o600, contents: { source: 'data:,b' } });
    expect(merged.storage?.disks?.[0].partitions).toEqual([{ number: 9, label: 'ROOT', resize: true }, { label: 'DATA', sizeMiB: 20 }]);
    expect(merged.systemd?.units?.[0]).toEqual({ name: 'a.service', enabled: true, dropins: [{ name: '1.conf', contents: '[Unit]\nB=2' }, { name: '2.conf' }] });
  });

  it('moves a path between files, directories and links', () => {
    expect(merged.storage?.files?.map((f) => f.path)).toEqual(['/etc/a', '/d']);
    expect(merged.storage?.directories).toBeUndefined();
    expect(merged.storage?.links).toEqual([{ path: '/etc/same', target: '/x' }]);
  });

  it('moves a kernel argument between shouldExist and shouldNotExist', () => {
    expect(merged.kernelArguments).toEqual({ shouldNotExist: ['quiet'] });
  });

  it('concatenates append and option lists, drops headers the child unsets, keys partitions by number before label', () => {
    const m = mergeConfigs(
      {
        ignition: { version: '3.6.0', config: { merge: [{ source: 'http://a', httpHeaders: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }] } },
        storage: {
          files: [{ path: '/f', append: [{ source: 'data:,a' }] }],
          filesystems: [{ device: '/dev/a', format: 'ext4', options: ['-O', 'x'] }],
          disks: [{ device: '/dev/b', partitions: [{ number: 3, label: 'DATA' }] }],
        },
      },
      {
        ignition: { version: '3.6.0', config: { merge: [{ source: 'http://a', httpHeaders: [{ name: 'X' }, { name: 'Z', value: '3' }] }] } },
        storage: {
          files: [{ path: '/f', append: [{ source: 'data:,a' }] }],
          filesystems: [{ device: '/dev/a', options: ['-O'] }],
          disks: [{ device: '/dev/b', partitions: [{ label: 'DATA', sizeMiB: 5 }] }],
        },
      },
    );
    expect(m.ignition.config?.merge?.[0].httpHeaders).toEqual([{ name: 'Y', value: '2' }, { name: 'Z', value: '3' }]);
    expect(m.storage?.files?.[0].append).toEqual([{ source: 'data:,a' }, { source: 'data:,a' }]);
    expect(m.storage?.filesystems?.[0].options).toEqual(['-O', 'x', '-O']);
    // Key "number:3" in the parent, "label:DATA" in the child: two entries, as in Ignition.
    expect(m.storage?.disks?.[0].partitions).toEqual([{ number: 3, label: 'DATA' }, { label: 'DATA', sizeMiB: 5 }]);
  });

  it('does not modify its inputs', () => {
    expect(parent.storage?.files?.[0].contents?.source).toBe('data:,a');
    expect(child.passwd?.users?.length).toBe(2);
  });

  it('produces a config that validates', () => {
    expect(validateConfig(merged).filter((e) => e.kind === 'error')).toEqual([]);
    expect(validateConfig(mergeConfigs(emptyConfig(), { ignition: { version: '3.6.0' }, storage: { files: [{ path: 'rel' }] } }))[0].message).toBe('path not absolute');
  });
});

describe('defaults and CLI formatting', () => {
  it('fills Ignition timeouts', () => {
    expect(resolveTimeouts(undefined)).toEqual({ httpResponseHeaders: 10, httpTotal: 0 });
    expect(resolveTimeouts({ httpTotal: 30 })).toEqual({ httpResponseHeaders: 10, httpTotal: 30 });
  });

  it('prints entries as ignition-validate does', () => {
    expect(pointerToDollar('/storage/files/0/mode')).toBe('$.storage.files.0.mode');
    expect(formatEntry({ kind: 'error', message: 'illegal file mode', location: { pointer: '/storage/files/0/mode', line: 5, column: 12 } })).toBe(
      'error at $.storage.files.0.mode, line 5 col 12: illegal file mode',
    );
    expect(formatEntry({ kind: 'error', message: 'x', location: { pointer: '', line: 1, column: 2 } })).toBe('error at line 1 col 2: x');
    // ignition-validate prints JSON decoding errors with a position only.
    expect(formatEntry({ kind: 'error', message: 'json: cannot unmarshal number into Go struct field Config.storage of type types.Storage', location: { pointer: '/storage', line: 1, column: 44 } })).toBe(
      'error at line 1 col 44: json: cannot unmarshal number into Go struct field Config.storage of type types.Storage',
    );
  });
});

describe('unit contents (as go-systemd reads them; cases checked against ignition-validate 2.14)', () => {
  const unit = (contents: string, enabled = false) =>
    JSON.stringify({ ignition: { version: '3.3.0' }, systemd: { units: [{ name: 'a.service', enabled, contents }] } });
  const messages = (text: string) => {
    try {
      return parseConfig(text).report.map((e) => e.message);
    } catch (err) {
      return (err as KindlingError).entries.map((e) => e.message);
    }
  };
  it('reports syntax errors with go-systemd messages', () => {
    expect(messages(unit('[Unit'))).toEqual(['invalid unit content: unable to find end of section']);
    expect(messages(unit('[Unit]]\nA=1'))).toEqual(['invalid unit content: found garbage after section name : "]"']);
    expect(messages(unit('[Unit]\nA'))).toEqual(['invalid unit content: EOF']);
    expect(messages(unit('[Unit]\nA\nB=1'))).toEqual(['invalid unit content: unexpected newline encountered while parsing option name']);
    expect(messages(unit('junk\n[Unit]\nA=1'))).toEqual([]);
    expect(messages(unit('[Unit\nA=1]'))).toEqual([]);
  });
  it('warns about enabled units without an [Install] option', () => {
    const warning = 'unit "a.service" is enabled, but has no install section so enable does nothing';
    expect(messages(unit('[Unit]', true))).toEqual([warning]);
    expect(messages(unit('[Unit]\nA=1\n[Install]', true))).toEqual([warning]);
    expect(messages(unit('[Install]\nWantedBy=x', true))).toEqual([]);
    expect(messages(unit('[Unit]', false))).toEqual([]);
  });
});

describe('nesting depth', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  it('accepts 1,000 levels and refuses deeper text with a located syntax error', () => {
    expect(() => parseJson(`{"x":${deep(999)}}`)).not.toThrow();
    let err: unknown;
    try {
      parseConfig(`{"ignition":{"version":"3.3.0"},"x":${deep(5000)}}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KindlingError);
    expect((err as KindlingError).kind).toBe('config-syntax');
    expect(formatEntryText(err as KindlingError)).toMatch(/exceeded max depth/);
  });
});

function formatEntryText(e: KindlingError): string {
  return [e.message, ...e.entries.map((x) => x.message)].join('\n');
}

describe('special mode bits in specs before 3.4', () => {
  const cfg = (v: string): string =>
    JSON.stringify({ ignition: { version: v }, storage: { files: [{ path: '/a', mode: 0o6755 }], directories: [{ path: '/d', mode: 0o1777 }] } });
  it('are dropped in translation, with the warning, as Ignition does', () => {
    const r = parseConfig(cfg('3.3.0'));
    expect(r.config.storage?.files?.[0]?.mode).toBe(0o755);
    expect(r.config.storage?.directories?.[0]?.mode).toBe(0o777);
    expect(r.report.some((e) => /setuid\/setgid\/sticky/.test(e.message))).toBe(true);
  });
  it('are kept from 3.4 on', () => {
    const r = parseConfig(cfg('3.4.0'));
    expect(r.config.storage?.files?.[0]?.mode).toBe(0o6755);
    expect(r.config.storage?.directories?.[0]?.mode).toBe(0o1777);
  });
});
