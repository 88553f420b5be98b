// The shape of Ignition's blackbox corpus (test/conformance/fixtures/ignition/blackbox.json, a copy
// of /work/shared/conformance/ignition/blackbox.json) and how to load it. See that corpus' README
// for the meaning of every field.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NodeSpec {
  path: string;
  directory: string;
  name: string;
  user: number;
  group: number;
}
export interface FileSpec extends NodeSpec {
  contents: string;
  mode: number;
  modeOctal: string | null;
}
export interface DirSpec extends NodeSpec {
  mode: number;
  modeOctal: string | null;
}
export interface LinkSpec extends NodeSpec {
  target: string;
  hard: boolean;
}

export interface PartitionSpec {
  number: number;
  label: string;
  typeCode: string;
  typeGuid: string;
  effectiveTypeGuid: string;
  guid: string;
  lengthSectors: number;
  filesystemType: string;
  filesystemLabel: string;
  filesystemUuid: string;
  hybridMbr: boolean;
  ambivalent: boolean;
  files: FileSpec[];
  directories: DirSpec[];
  links: LinkSpec[];
  startSector?: number;
  removedNodes?: NodeSpec[];
  filesystemImageBzip2Base64?: string;
}

export interface DiskSpec {
  alignmentSectors: number;
  corruptTable: boolean;
  partitions: PartitionSpec[];
}

export interface CaseSpec {
  name: string;
  kind: 'positive' | 'negative';
  sourceFile: string;
  registeredBy: string;
  configMinVersion: string | null;
  configMaxVersion: string | null;
  registeredVersions: string[];
  registeredNames: string[];
  config: string;
  configPlaceholders: string[];
  configShouldBeBad: boolean;
  skipCriticalCheck: boolean;
  env: string[];
  mntDevices: { label: string; substitution: string }[];
  systemConfigDirFiles: FileSpec[];
  systemRuntimeConfigDirFiles: FileSpec[];
  systemLocalConfigDirFiles: FileSpec[];
  diskImageSizesBytes: number[];
  in: DiskSpec[];
  out: DiskSpec[];
  usesFixedServerPaths: string[];
  usesAdHocServers: string[];
  requires: string[];
}

export interface HttpResource {
  path: string;
  status: number;
  body?: string;
  gzipBodyBase64?: string;
  contentEncoding?: string;
  location?: string;
  requiredHeaders?: Record<string, string>;
  requiredHeaderPrefixes?: Record<string, string>;
  forbiddenHeaders?: string[];
}

export interface AdHocServerSpec {
  id: string;
  scheme: 'http' | 'https';
  behavior: string;
  status: number | string;
  body: string;
  delaySeconds?: number;
  tlsCertificatePem?: string;
}

export interface Corpus {
  versionExpansion: string[];
  partitionTypeCodes: Record<string, string>;
  httpServer: { unknownPath: { status: number; body: string }; resources: HttpResource[] };
  tftpServer: { files: Record<string, { body: string }> };
  adHocServers: AdHocServerSpec[];
  fixtures: { certificatesPem: string; certificates2Pem: string; caBundlePem: string };
  cases: CaseSpec[];
}

export const HERE = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(HERE, '..', 'fixtures');
export const REPO_ROOT = join(HERE, '..', '..', '..');

let cached: Corpus | undefined;
/** The corpus; BLACKBOX_CORPUS may name another copy of blackbox.json. */
export function loadCorpus(): Corpus {
  if (!cached) {
    const path = process.env.BLACKBOX_CORPUS || join(FIXTURES, 'ignition', 'blackbox.json');
    cached = JSON.parse(readFileSync(path, 'utf8')) as Corpus;
  }
  return cached;
}

/** A deep copy, so that a run may fill in placeholders without touching the corpus. */
export function cloneCase(c: CaseSpec): CaseSpec {
  return structuredClone(c);
}
