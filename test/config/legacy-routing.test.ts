// How parseConfig hands spec 1.x/2.x documents to the legacy translator (owned elsewhere, mocked
// here): what it passes, and that the translated 3.x document is then parsed and validated.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { KindlingError } from '../../src/errors.js';

const translateLegacy = vi.fn();
// Thrown by the stand-in outside vi.fn (vitest reports errors thrown by mock implementations).
let failWith: Error | undefined;
vi.mock('../../src/config/legacy/index.js', () => ({
  translateLegacy: (doc: unknown, v: string) => {
    if (failWith) throw failWith;
    return translateLegacy(doc, v);
  },
}));

const { parseConfig, loadLegacyTranslators } = await import('../../src/config/index.js');
// The translators load on demand (the synchronous parseConfig needs them loaded first).
await loadLegacyTranslators();

describe('legacy configs', () => {
  beforeEach(() => {
    translateLegacy.mockReset();
    failWith = undefined;
  });

  it('routes ignition.version 2.x with the parsed document', () => {
    translateLegacy.mockReturnValue({ ignition: { version: '3.0.0' }, storage: { files: [{ path: '/etc/x' }] } });
    const res = parseConfig('{"ignition": {"version": "2.3.0"}, "storage": {"files": [{"filesystem": "root", "path": "/etc/x"}]}}');
    expect(translateLegacy).toHaveBeenCalledWith({ ignition: { version: '2.3.0' }, storage: { files: [{ filesystem: 'root', path: '/etc/x' }] } }, '2.3.0');
    expect(res.sourceVersion).toBe('2.3.0');
    expect(res.config).toEqual({ ignition: { version: '3.6.0' }, storage: { files: [{ path: '/etc/x' }] } });
  });

  it('routes spec 1 ({"ignitionVersion": 1}) as version "1"', () => {
    translateLegacy.mockReturnValue({ ignition: { version: '3.0.0' } });
    expect(parseConfig('{"ignitionVersion": 1, "systemd": {}}').sourceVersion).toBe('1');
    expect(translateLegacy.mock.calls[0][1]).toBe('1');
  });

  it('validates what the translator produced', () => {
    translateLegacy.mockReturnValue({ ignition: { version: '3.0.0' }, storage: { files: [{ path: 'relative' }] } });
    expect(() => parseConfig('{"ignition": {"version": "2.1.0"}}')).toThrow(KindlingError);
  });

  it('propagates the translator errors', () => {
    failWith = new KindlingError('config-invalid', 'cannot translate', { location: { pointer: '/storage/filesystems/0' } });
    let caught: unknown;
    try {
      parseConfig('{"ignition": {"version": "2.2.0"}}');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KindlingError);
    expect((caught as KindlingError).message).toBe('cannot translate');
  });

  it('leaves 2.x experimental versions and the exact-version parser alone', () => {
    expect(() => parseConfig('{"ignition": {"version": "2.5.0-experimental"}}')).toThrow('unsupported config version');
    expect(() => parseConfig('{"ignition": {"version": "2.3.0"}}', { exactVersion: '3.6.0' })).toThrow('unsupported config version');
    expect(translateLegacy).not.toHaveBeenCalled();
  });
});
