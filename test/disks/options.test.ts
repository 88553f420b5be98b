import { describe, expect, it } from 'vitest';
import { disksOptions } from '../../stages/disks/options.js';
import { localContext } from '../../src/engine/context.js';

describe('disks stage state directory', () => {
  it('lives beside -state-file, so runs with different state never share a journal', () => {
    const a = localContext({ config: { ignition: { version: '3.6.0' } }, root: '/' });
    a.stateFile = '/tmp/case-a/state';
    const b = { ...a, stateFile: '/tmp/case-b/state' };
    expect(disksOptions(a).stateDir).toBe('/tmp/case-a/kindling-disks');
    expect(disksOptions(b).stateDir).toBe('/tmp/case-b/kindling-disks');
  });
  it('falls back to /run/kindling/disks without a state file, and honours an explicit one', () => {
    const c = localContext({ config: { ignition: { version: '3.6.0' } }, root: '/' });
    expect(disksOptions(c).stateDir).toBe('/run/kindling/disks');
    c.options = { stateDir: '/x/y' };
    expect(disksOptions(c).stateDir).toBe('/x/y');
  });
});
