import { describe, expect, it } from 'vitest';
import { parseFlags } from './flags.js';

const spec = { booleans: ['log-to-stdout', 'version'], strings: ['platform', 'stage', 'root'] };

describe('parseFlags (Go flag syntax, as the ignition binary takes it)', () => {
  it('takes -name value, -name=value, --name value and booleans', () => {
    const p = parseFlags(['-platform', 'qemu', '--stage=files', '-log-to-stdout', '--root', '/sysroot'], spec);
    expect(p.values).toEqual({ platform: 'qemu', stage: 'files', root: '/sysroot' });
    expect(p.booleans).toEqual({ 'log-to-stdout': true });
    expect(p.rest).toEqual([]);
  });
  it('rejects unknown flags and missing values the way Go does', () => {
    expect(() => parseFlags(['-nope'], spec)).toThrow('flag provided but not defined: -nope');
    expect(() => parseFlags(['-stage'], spec)).toThrow('flag needs an argument: -stage');
    expect(() => parseFlags(['-version=maybe'], spec)).toThrow(/invalid boolean/);
  });
  it('collects repeatable flags in order', () => {
    const p = parseFlags(['--disk', '/dev/vda=a.img', '--disk=/dev/vdb=8G', '--json'], {
      booleans: ['json'],
      strings: [],
      lists: ['disk'],
    });
    expect(p.lists).toEqual({ disk: ['/dev/vda=a.img', '/dev/vdb=8G'] });
    expect(p.booleans.json).toBe(true);
  });
  it('takes flags after positionals when interspersed (human subcommands)', () => {
    const p = parseFlags(['node.ign', '--disk', '/dev/vda=40G', '-', '--json'], { booleans: ['json'], strings: [], lists: ['disk'], interspersed: true });
    expect(p.rest).toEqual(['node.ign', '-']);
    expect(p.lists.disk).toEqual(['/dev/vda=40G']);
    expect(p.booleans.json).toBe(true);
  });
  it('stops at -- and at the first non-flag', () => {
    expect(parseFlags(['-stage', 'x', '--', '-root'], spec).rest).toEqual(['-root']);
    expect(parseFlags(['file.ign', '-stage', 'x'], spec).rest).toEqual(['file.ign', '-stage', 'x']);
  });
});
