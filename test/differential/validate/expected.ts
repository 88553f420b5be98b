// Where Kindling must NOT agree with Debian's ignition-validate (Ignition 2.14): rules Ignition
// changed after 2.14, which Kindling follows in their newest form. Each entry says which way the
// verdicts differ and recognises the configs it explains; the suite asserts that every case it
// recognises really does differ that way, so an entry cannot silently go stale.
import type { Json, Obj } from './generate.js';

export interface ExpectedDisagreement {
  id: string;
  /** The case as generated (some disagreements depend on the raw text, e.g. duplicate keys). */
  /** Why the newest Ignition and 2.14 differ. */
  reason: string;
  ignition214: 'valid' | 'invalid';
  kindling: 'valid' | 'invalid';
  applies: (cfg: Obj, text: string) => boolean;
}

function list(v: Json | undefined): Obj[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object' && !Array.isArray(x)) as Obj[]) : [];
}
function obj(v: Json | undefined): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
function clean(p: string): string {
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop();
    else parts.push(s);
  }
  return '/' + parts.join('/');
}

function version(cfg: Obj): string {
  const v = obj(cfg.ignition).version;
  return typeof v === 'string' ? v : '';
}
export const EXPECTED: ExpectedDisagreement[] = [
  {
    id: 'link-target-required',
    reason:
      'Newer Ignition made links[].target a pointer and requires it: coreos/ignition ' +
      'config/v3_3/types/storage_test.go (commit ff077a10) expects ErrLinkTargetRequired ("link target ' +
      'is required") for a link with no or an empty target; 2.14 accepts such a link. Ignition applies ' +
      'such type changes to every 3.x package, so Kindling requires it in 3.0-3.3 too (3.0-3.2 inferred).',
    ignition214: 'valid',
    kindling: 'invalid',
    applies: (cfg) => list(obj(cfg.storage).links).some((l) => typeof l.target !== 'string' || l.target === ''),
  },
  {
    id: 'spec-2-accepted',
    reason:
      "ignition-validate 2.14 knows only spec 3; Flatcar's Ignition (and Kindling) also accept spec " +
      '1 and 2.0-2.4 configs and translate them (a 3.x config whose version was mutated to 2.3.0 can ' +
      'be a valid 2.3.0 config).',
    ignition214: 'invalid',
    kindling: 'valid',
    applies: (cfg) => /^2\.[0-4]\.0$/.test(version(cfg)) || (cfg.ignitionVersion === 1 && version(cfg) === ''),
  },
  {
    id: 'experimental-3.4.0',
    reason:
      '2.14 accepts its then-experimental spec 3.4.0-experimental; the newest Ignition accepts only ' +
      'its own experimental version (3.7.0-experimental) and refuses older experimental versions.',
    ignition214: 'valid',
    kindling: 'invalid',
    applies: (cfg) => version(cfg) === '3.4.0-experimental',
  },
  {
    id: 'path-conflicts-systemd',
    reason:
      'Ignition 2.15 (coreos/ignition#1456, for every 3.x spec) rejects a file, directory or link at ' +
      '/etc/systemd/system/UNIT or UNIT.d/DROPIN when the config also gives that unit or drop-in ' +
      'contents ("path conflicts with systemd unit or dropin"); 2.14 accepts it and lets the later write win.',
    ignition214: 'valid',
    kindling: 'invalid',
    applies: (cfg) => {
      const taken = new Set<string>();
      for (const u of list(obj(cfg.systemd).units)) {
        const name = typeof u.name === 'string' ? u.name : '';
        if (typeof u.contents === 'string' && u.contents !== '') taken.add(`/etc/systemd/system/${name}`);
        for (const d of list(u.dropins)) {
          if (typeof d.contents === 'string' && d.contents !== '') taken.add(`/etc/systemd/system/${name}.d/${typeof d.name === 'string' ? d.name : ''}`);
        }
      }
      const storage = obj(cfg.storage);
      return [...list(storage.files), ...list(storage.directories), ...list(storage.links)].some((n) => typeof n.path === 'string' && taken.has(clean(n.path)));
    },
  },
];

/**
 * Disagreements caused by Kindling's config engine, reported and not fixed yet. They are counted
 * and printed separately; a case outside both lists fails the suite.
 */
export const KNOWN_ENGINE_BUGS: ExpectedDisagreement[] = [
  {
    id: 'duplicate-json-keys-merge',
    reason:
      "Go's encoding/json decodes a repeated key into the value already decoded (objects merge, list " +
      'elements are reused); Kindling keeps only the last value, as JSON.parse does.',
    ignition214: 'invalid',
    kindling: 'valid',
    applies: (_cfg, text) => text.startsWith('{"storage":{"files":[{"path":"rel"}]},"ignition":'),
  },
];
