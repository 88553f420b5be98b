// Flatcar's pipeline for an old config is: decode and check the 2.x config, translate it to spec
// 3.1.0, validate the 3.1.0 document with Ignition's rules. Here the last step is done by the real
// Ignition (ignition-validate 2.14, which knows 3.1.0) on Kindling's translation, and the whole
// pipeline must give the same verdict as Kindling's parseConfig on the original 1.x/2.x text.
// Seeded generator of 1.x/2.x configs plus generic mutations; a few hundred cases.
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadLegacyTranslators, parseConfig } from '../../src/config/index.js';
import { translateLegacy } from '../../src/config/legacy/index.js';
import { KindlingError } from '../../src/errors.js';
import { MUTATIONS, Rng, type Json, type Obj } from '../differential/validate/generate.js';
import { EXPECTED, KNOWN_ENGINE_BUGS } from '../differential/validate/expected.js';
import { IGNITION_VALIDATE, judgeFiles } from '../differential/validate/oracle.js';

// The 1.x/2.x translators load on demand; the synchronous parseConfig needs them loaded first.
await loadLegacyTranslators();

const UNIT = '[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n';

function legacyConfig(r: Rng, minor: number): Obj {
  const cfg: Obj = { ignition: { version: `2.${minor}.0` } };
  const storage: Obj = {};
  const filesystems: Json[] = [];
  if (r.bool(0.4)) filesystems.push({ name: 'root', path: '/sysroot' });
  if (r.bool(0.4)) filesystems.push({ name: 'oem', mount: { device: '/dev/disk/by-label/OEM', format: r.pick(['ext4', 'btrfs']) } });
  if (r.bool(0.4)) filesystems.push({ name: 'data', mount: minor >= 1 ? { device: '/dev/sdb1', format: 'xfs', wipeFilesystem: r.bool() } : { device: '/dev/sdb1', format: 'ext4', create: { force: true } } });
  if (filesystems.length) storage.filesystems = filesystems;
  const fsNames = ['root', ...filesystems.map((f) => (f as Obj).name as string).filter((n) => n !== 'root')];
  const files: Json[] = [];
  for (let i = 0; i < r.int(0, 4); i++) {
    const f: Obj = { filesystem: r.pick(fsNames), path: `/etc/legacy/f${i}`, contents: { source: r.pick(['data:,hello', '', 'https://example.com/x', 'data:;base64,aGk=']) } };
    if (r.bool(0.7)) f.mode = r.pick([420, 384, 493]);
    if (minor >= 2 && r.bool(0.3)) f.append = true;
    else if (minor >= 2 && r.bool(0.3)) f.overwrite = r.bool();
    if (r.bool(0.2)) f.user = minor >= 1 && r.bool() ? { name: 'core' } : { id: 500 };
    files.push(f);
  }
  if (files.length) storage.files = files;
  if (minor >= 1 && r.bool(0.4)) storage.directories = [{ filesystem: 'root', path: '/var/legacy', mode: 493 }];
  if (minor >= 1 && r.bool(0.4)) storage.links = [{ filesystem: 'root', path: '/etc/legacy-link', target: '/usr/share/zoneinfo/UTC' }];
  if (r.bool(0.3)) {
    const part: Obj = { number: 1, label: 'DATA' };
    if (minor >= 3) part.sizeMiB = r.int(0, 512);
    else part.size = 0;
    storage.disks = [{ device: '/dev/sdc', wipeTable: r.bool(), partitions: [part] }];
  }
  if (r.bool(0.2)) storage.raid = [{ name: 'md0', level: 'raid1', devices: ['/dev/sdd', '/dev/sde'] }];
  if (Object.keys(storage).length) cfg.storage = storage;
  const units: Json[] = [];
  for (let i = 0; i < r.int(0, 3); i++) {
    const u: Obj = { name: `legacy-${i}.service` };
    if (r.bool(0.7)) u.contents = UNIT;
    if (r.bool(0.5)) u.enable = true;
    if (minor >= 1 && r.bool(0.3)) u.enabled = r.bool();
    if (r.bool(0.3)) u.dropins = [{ name: '10-x.conf', contents: '[Service]\nEnvironment=A=1\n' }];
    units.push(u);
  }
  if (units.length) cfg.systemd = { units };
  if (r.bool(0.4)) {
    const nu: Obj = { name: '00-eth0.network', contents: '[Match]\nName=eth0\n[Network]\nDHCP=yes\n' };
    if (minor >= 2 && r.bool()) nu.dropins = [{ name: 'mtu.conf', contents: '[Link]\nMTUBytes=1400' }];
    cfg.networkd = { units: [nu] };
  }
  const users: Json[] = [];
  if (r.bool(0.6)) users.push({ name: 'core', sshAuthorizedKeys: ['ssh-rsa AAAAB3 a@b'] });
  if (r.bool(0.4)) users.push(minor >= 1 && r.bool() ? { name: 'ops', uid: 1001, groups: ['docker'] } : { name: 'ops', create: { uid: 1001, groups: ['docker'] } });
  if (users.length) cfg.passwd = { users, ...(r.bool(0.3) ? { groups: [{ name: 'ops', gid: 1001 }] } : {}) };
  return cfg;
}

function v1Config(r: Rng): Obj {
  return {
    ignitionVersion: 1,
    storage: { filesystems: [{ device: '/dev/sdb1', format: 'ext4', create: { force: true }, files: [{ path: '/motd', contents: 'hi there', mode: r.pick([420, 384]) }] }] },
    systemd: { units: [{ name: 'etcd.service', enable: r.bool(), contents: UNIT }] },
    networkd: { units: [{ name: '10-eth.network', contents: '[Match]\nName=eth*\n' }] },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-rsa AAAA'] }] },
  };
}

const MUTATION_SET = ['wrongType', 'nullLeaf', 'dropLeaf', 'unknownKey', 'truncate', 'duplicatePath', 'unitName', 'badUnitContents', 'duplicateUnit'] as const;

interface LegacyCase {
  id: string;
  version: string;
  text: string;
}

function cases(seed: number, perVersion: number): LegacyCase[] {
  const r = new Rng(seed);
  const out: LegacyCase[] = [];
  for (const minor of [0, 1, 2, 3, 4, -1]) {
    for (let i = 0; i < perVersion; i++) {
      const base = minor === -1 ? v1Config(r) : legacyConfig(r, minor);
      const version = minor === -1 ? '1' : `2.${minor}.0`;
      out.push({ id: `${version}/${i}/valid`, version, text: JSON.stringify(base) });
      for (let m = 0; m < 3; m++) {
        const name = r.pick(MUTATION_SET);
        const mutated = MUTATIONS[name](r, structuredClone(base), version);
        if (mutated !== undefined) out.push({ id: `${version}/${i}/${name}${m}`, version, text: typeof mutated === 'string' ? mutated : JSON.stringify(mutated) });
      }
    }
  }
  return out;
}

describe.skipIf(!existsSync(IGNITION_VALIDATE))('old configs: Kindling vs (Kindling translation + real Ignition 3.1 validation)', () => {
  test('parseConfig on the 1.x/2.x text agrees with the Flatcar pipeline', async () => {
    const all = cases(7331, 40);
    const translated: Array<{ c: LegacyCase; doc?: string; translateError?: string }> = all.map((c) => {
      let doc: unknown;
      try {
        doc = JSON.parse(c.text);
      } catch {
        return { c, translateError: 'not JSON' };
      }
      try {
        return { c, doc: JSON.stringify(translateLegacy(doc, c.version)) };
      } catch (e) {
        if (!(e instanceof KindlingError)) throw e;
        return { c, translateError: e.message };
      }
    });
    const withDoc = translated.filter((t) => t.doc !== undefined);
    const verdicts = await judgeFiles(IGNITION_VALIDATE, [], withDoc.map((t) => t.doc as string), 2);
    const pipelineValid = new Map<LegacyCase, { valid: boolean; why: string }>();
    translated.forEach((t) => pipelineValid.set(t.c, { valid: false, why: t.translateError ?? '' }));
    withDoc.forEach((t, i) => pipelineValid.set(t.c, { valid: verdicts[i].valid, why: verdicts[i].output }));

    // Every unmutated generated config translates and the translation is valid for Ignition.
    const bases = all.filter((c) => c.id.endsWith('/valid'));
    expect(bases.filter((c) => !pipelineValid.get(c)?.valid).map((c) => `${c.id}: ${pipelineValid.get(c)?.why}`)).toEqual([]);

    const docOf = new Map(translated.map((t) => [t.c, t.doc]));
    const mismatches: string[] = [];
    const known: Record<string, number> = {};
    for (const c of all) {
      let kindling: boolean;
      let why = '';
      try {
        parseConfig(c.text);
        kindling = true;
      } catch (e) {
        if (!(e instanceof KindlingError)) throw e;
        kindling = false;
        why = e.message;
      }
      const pipeline = pipelineValid.get(c)!;
      if (kindling === pipeline.valid) continue;
      // Disagreements of the 3.x validation already itemised by the 3.x differential suite (rule
      // changes after Ignition 2.14, and known engine differences).
      const doc = docOf.get(c);
      const bug = doc === undefined ? undefined : [...EXPECTED, ...KNOWN_ENGINE_BUGS].find((e) => e.kindling === (kindling ? 'valid' : 'invalid') && e.applies(JSON.parse(doc) as Obj, doc));
      if (bug) {
        known[bug.id] = (known[bug.id] ?? 0) + 1;
        continue;
      }
      mismatches.push(`${c.id}: kindling ${kindling ? 'valid' : 'invalid (' + why + ')'}, pipeline ${pipeline.valid ? 'valid' : 'invalid (' + pipeline.why.split('\n')[0] + ')'}`);
    }
    console.log(`legacy differential: ${all.length} cases, ${withDoc.length} translated, ${verdicts.filter((v) => v.valid).length} valid for Ignition, ${mismatches.length} mismatches, itemised 3.x disagreements ${JSON.stringify(known)}`);
    expect(mismatches).toEqual([]);
  }, 120_000);
});
