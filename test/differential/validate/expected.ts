// Where Kindling must NOT agree with Debian's ignition-validate (Ignition 2.14): rules Ignition
// changed after 2.14, which Kindling follows in their newest form. Each entry says which way the
// verdicts differ and recognises the configs it explains; the suite asserts that every case it
// recognises really does differ that way, so an entry cannot silently go stale.
import type { Json, Obj } from './generate.js';

export interface ExpectedDisagreement {
  id: string;
  /** Why the newest Ignition and 2.14 differ. */
  reason: string;
  ignition214: 'valid' | 'invalid';
  kindling: 'valid' | 'invalid';
  applies: (cfg: Obj) => boolean;
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

export const EXPECTED: ExpectedDisagreement[] = [
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
