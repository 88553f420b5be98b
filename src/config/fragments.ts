// Validation of single config values ("fragments"), the granularity of Ignition's own type tests.
// Used by the conformance suite (test/config/validation-conformance.test.ts) and handy for
// editors or tools that check one piece of a config at a time.
import type { ClevisCustom, Config, Dropin, File, Filesystem, HttpHeader, Link, NodeUser, Raid, Resource, Storage, Tang, Unit, Verification } from './types.js';
import { Findings, dollarPath, type Finding } from './validate/report.js';
import * as R from './validate/rules.js';
import { validateTree } from './validate/walk.js';
import { validateProxyUrl } from './validate/url.js';
import { validateUnitName } from './validate/unit-file.js';

const CTX: R.Ctx = { minor: 6 };

function single(path: (string | number)[], message: string | undefined, kind: 'error' | 'warning' = 'error'): Finding[] {
  return message ? [{ kind, message, path }] : [];
}

function withFindings(fn: (out: Findings) => void): Finding[] {
  const out = new Findings();
  fn(out);
  return out.list;
}

/** Full validation of a part of a config, paths relative to that part. */
function nested(prefix: string[], build: (v: unknown) => Config, value: unknown): Finding[] {
  return validateTree(build(value), 6)
    .list.filter((f) => prefix.every((p, i) => f.path[i] === p))
    .map((f) => ({ ...f, path: f.path.slice(prefix.length) }));
}

/** The split of "<function>-<sum>" alone (Ignition's HashParts). */
export function hashParts(hash: string): string | undefined {
  return hash.includes('-') ? undefined : R.MSG.hashMalformed;
}

type Validator = (value: unknown, extra: { httpOk?: boolean; check?: string }) => Finding[];

/** Validators keyed by the fragment type names of Ignition's tests (validation.json's fragmentType). */
export const FRAGMENT_VALIDATORS: Record<string, Validator> = {
  'URL (string or null)': (v) => single([], R.validateUrlNilOk((v as string | null) ?? undefined)),
  'proxy URL (string or null)': (v, { httpOk }) => {
    const res = validateProxyUrl((v as string | null) ?? undefined, httpOk === true);
    return [...single([], res.error), ...single([], res.warning, 'warning')];
  },
  'path (string)': (v) => single([], R.validatePath(v as string)),
  'mode (integer or null)': (v) => single([], R.validateMode((v as number | null) ?? undefined)),
  'partition label (string)': (v) => single([], R.validatePartitionLabel((v as string | null) ?? undefined)),
  'partition guid/typeGuid (string)': (v) => single([], R.validateGuid((v as string | null) ?? undefined)),
  'unit name (string)': (v) => single([], validateUnitName(v as string)),
  'verification hash (string)': (v) => single([], hashParts(v as string)),
  Verification: (v) => withFindings((out) => R.validateVerification(v as Verification, [], out, CTX)),
  Resource: (v) => {
    const r = v as Resource;
    return single([], r.verification?.hash !== undefined && r.source === undefined ? R.MSG.verificationNilSource : undefined);
  },
  File: (v) => withFindings((out) => R.validateFileOverwrite(v as File, [], out)),
  Filesystem: (v, { check }) => {
    const fs = v as Filesystem;
    if (check?.includes('label')) return single(['label'], R.validateFilesystemLabel(fs));
    if (check?.includes('path')) return single(['path'], R.validateFilesystemPath(fs));
    if (check?.includes('format')) return single(['format'], R.validateFilesystemFormat(fs, CTX));
    return withFindings((out) => R.validateFilesystem(fs, [], out, CTX));
  },
  Storage: (v) => withFindings((out) => R.validateStorage(v as Storage, [], out)),
  Raid: (v) => withFindings((out) => R.validateRaid(v as Raid, [], out)),
  Tang: (v) => withFindings((out) => R.validateTang(v as Tang, [], out)),
  ClevisCustom: (v) => withFindings((out) => R.validateClevisCustom(v as ClevisCustom, [], out)),
  Cex: () => [],
  NodeUser: (v) => withFindings((out) => R.validateNodeUser(v as NodeUser, [], out)),
  NodeGroup: (v) => withFindings((out) => R.validateNodeUser(v as NodeUser, [], out)),
  Node: (v) => withFindings((out) => R.validateLink(v as Link, [], out)),
  HTTPHeaders: (v) => single([], R.parseHeaders(v as HttpHeader[])),
  Unit: (v) => withFindings((out) => R.validateUnit(v as Unit, [], out)),
  Dropin: (v) => withFindings((out) => R.validateDropin(v as Dropin, [], out)),
  Systemd: (v) => withFindings((out) => R.validateSystemd((v as { units?: Unit[] }).units ?? [], [], out)),
  Config: (v) => withFindings((out) => R.validateSystemdConflicts(v as Config, out)),
  IgnitionConfig: (v) => nested(['ignition', 'config'], (x) => ({ ignition: { version: '3.6.0', config: x as Config['ignition']['config'] } }), v),
  TLS: (v) => nested(['ignition', 'security', 'tls'], (x) => ({ ignition: { version: '3.6.0', security: { tls: x as { certificateAuthorities?: Resource[] } } } }), v),
  KernelArguments: (v) => nested(['kernelArguments'], (x) => ({ ignition: { version: '3.6.0' }, kernelArguments: x as Config['kernelArguments'] }), v),
};

/** Ignition's rendering of a report: one "error at $.path: message" line per entry. */
export function renderFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.kind} at ${dollarPath(f.path)}: ${f.message}\n`).join('');
}

export type { Finding };
