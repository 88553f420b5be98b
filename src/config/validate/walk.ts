// Visits a whole config and applies every rule: each type's own checks (./rules.ts), the
// uniqueness of keyed list entries ("duplicate entry defined"), and the cross-cutting checks
// (links in paths, systemd conflicts, template units).
import type { Config, Resource } from '../types.js';
import type { Minor } from '../schema/spec.js';
import { Findings, type Path } from './report.js';
import * as R from './rules.js';
import { ERR_INVALID_SCHEME } from './url.js';

/** Reports list entries whose key repeats an earlier one; `lists` share one key space (files/dirs/links). */
function checkDuplicates<T>(lists: { name: Path; items: T[] | undefined }[], key: (item: T) => string | undefined, out: Findings): void {
  const seen = new Set<string>();
  for (const { name, items } of lists) {
    (items ?? []).forEach((item, i) => {
      const k = key(item);
      if (k === undefined) return;
      if (seen.has(k)) out.error([...name, i], R.MSG.duplicate);
      seen.add(k);
    });
  }
}

export function validateTree(cfg: Config, minor: Minor): Findings {
  const out = new Findings();
  const ctx: R.Ctx = { minor };
  const resource = (r: Resource | undefined, at: Path, reference = false) => {
    if (!r) return;
    R.validateResource(r, at, out, reference && minor === 0 ? { ...ctx, noVerificationSourceCheck: true } : ctx);
    R.validateVerification(r.verification, [...at, 'verification'], out, ctx);
    (r.httpHeaders ?? []).forEach((h, i) => R.validateHeader(h, [...at, 'httpHeaders', i], out));
    checkDuplicates([{ name: [...at, 'httpHeaders'], items: r.httpHeaders }], (h) => h.name, out);
  };

  R.validateSystemdConflicts(cfg, out);

  const ign = cfg.ignition;
  (ign.config?.merge ?? []).forEach((m, i) => {
    // Spec 3.0's config references have an optional source (required from 3.1 on).
    if (minor > 0) R.validateRequiredSource(m, ['ignition', 'config', 'merge', i], out);
    resource(m, ['ignition', 'config', 'merge', i], true);
  });
  checkDuplicates([{ name: ['ignition', 'config', 'merge'], items: ign.config?.merge }], (m) => m.source ?? '', out);
  resource(ign.config?.replace, ['ignition', 'config', 'replace'], true);
  if (ign.proxy) R.validateProxy(ign.proxy, ['ignition', 'proxy'], out);
  const cas = ign.security?.tls?.certificateAuthorities ?? [];
  cas.forEach((ca, i) => {
    // Spec 3.0's CA source is a plain string: a missing one is the URL "", an invalid scheme.
    if (minor > 0) R.validateRequiredSource(ca, ['ignition', 'security', 'tls', 'certificateAuthorities', i], out);
    else if (!ca.source) out.error(['ignition', 'security', 'tls', 'certificateAuthorities', i, 'source'], ERR_INVALID_SCHEME);
    resource(ca, ['ignition', 'security', 'tls', 'certificateAuthorities', i], true);
  });
  checkDuplicates([{ name: ['ignition', 'security', 'tls', 'certificateAuthorities'], items: cas }], (c) => c.source ?? '', out);

  const kargs = cfg.kernelArguments;
  if (kargs) {
    checkDuplicates<string>(
      [
        { name: ['kernelArguments', 'shouldExist'], items: kargs.shouldExist },
        { name: ['kernelArguments', 'shouldNotExist'], items: kargs.shouldNotExist },
      ],
      (a) => a,
      out,
    );
  }

  const passwd = cfg.passwd;
  checkDuplicates([{ name: ['passwd', 'users'], items: passwd?.users }], (u) => u.name, out);
  // Lists of strings are sets too (ignition-validate: "duplicate entry defined"), except option lists.
  (passwd?.users ?? []).forEach((u, i) => {
    checkDuplicates<string>([{ name: ['passwd', 'users', i, 'sshAuthorizedKeys'], items: u.sshAuthorizedKeys }], (k) => k, out);
    checkDuplicates<string>([{ name: ['passwd', 'users', i, 'groups'], items: u.groups }], (g) => g, out);
  });
  checkDuplicates([{ name: ['passwd', 'groups'], items: passwd?.groups }], (g) => g.name, out);

  const st = cfg.storage;
  if (st) {
    const at: Path = ['storage'];
    R.validateStorage(st, at, out);
    (st.disks ?? []).forEach((d, i) => {
      R.validateDisk(d, [...at, 'disks', i], out);
      (d.partitions ?? []).forEach((p, j) => R.validatePartition(p, [...at, 'disks', i, 'partitions', j], out));
      checkDuplicates([{ name: [...at, 'disks', i, 'partitions'], items: d.partitions }], partitionKey, out);
    });
    checkDuplicates([{ name: [...at, 'disks'], items: st.disks }], (d) => d.device, out);
    (st.raid ?? []).forEach((r, i) => {
      R.validateRaid(r, [...at, 'raid', i], out);
      checkDuplicates<string>([{ name: [...at, 'raid', i, 'devices'], items: r.devices }], (d) => d, out);
    });
    checkDuplicates([{ name: [...at, 'raid'], items: st.raid }], (r) => r.name, out);
    (st.filesystems ?? []).forEach((fs, i) => R.validateFilesystem(fs, [...at, 'filesystems', i], out, ctx));
    checkDuplicates([{ name: [...at, 'filesystems'], items: st.filesystems }], (fs) => fs.device, out);
    (st.files ?? []).forEach((file, i) => {
      const fat: Path = [...at, 'files', i];
      R.validateFile(file, fat, out, ctx);
      resource(file.contents, [...fat, 'contents']);
      (file.append ?? []).forEach((a, j) => resource(a, [...fat, 'append', j]));
    });
    (st.directories ?? []).forEach((d, i) => R.validateDirectory(d, [...at, 'directories', i], out, ctx));
    (st.links ?? []).forEach((l, i) => R.validateLink(l, [...at, 'links', i], out));
    checkDuplicates<{ path: string }>(
      [
        { name: [...at, 'directories'], items: st.directories },
        { name: [...at, 'files'], items: st.files },
        { name: [...at, 'links'], items: st.links },
      ],
      (n) => n.path,
      out,
    );
    (st.luks ?? []).forEach((l, i) => {
      const lat: Path = [...at, 'luks', i];
      R.validateLuks(l, lat, out);
      resource(l.keyFile, [...lat, 'keyFile']);
      if (l.clevis?.custom) R.validateClevisCustom(l.clevis.custom, [...lat, 'clevis', 'custom'], out, minor, true);
      (l.clevis?.tang ?? []).forEach((t, j) => R.validateTang(t, [...lat, 'clevis', 'tang', j], out));
      checkDuplicates([{ name: [...lat, 'clevis', 'tang'], items: l.clevis?.tang }], (t) => t.url, out);
    });
    checkDuplicates([{ name: [...at, 'luks'], items: st.luks }], (l) => l.name, out);
  }

  const units = cfg.systemd?.units ?? [];
  units.forEach((u, i) => {
    R.validateUnit(u, ['systemd', 'units', i], out);
    (u.dropins ?? []).forEach((d, j) => R.validateDropin(d, ['systemd', 'units', i, 'dropins', j], out));
    checkDuplicates([{ name: ['systemd', 'units', i, 'dropins'], items: u.dropins }], (d) => d.name, out);
  });
  checkDuplicates([{ name: ['systemd', 'units'], items: units }], (u) => u.name, out);
  R.validateSystemd(units, ['systemd'], out);
  return out;
}

/** Partitions are keyed by number, or by label when the number is 0 (as Ignition's Partition.Key). */
export function partitionKey(p: { number?: number; label?: string }): string | undefined {
  if ((p.number ?? 0) !== 0) return `number:${p.number}`;
  if (p.label !== undefined) return `label:${p.label}`;
  return undefined;
}
