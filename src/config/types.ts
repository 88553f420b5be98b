// The internal representation of an Ignition config: spec 3.6.0 (plus the fields that
// 3.7.0-experimental adds). Every accepted version, 1.x through 3.7.0-experimental, is translated
// into this shape before any stage sees it.
//
// JSON `null` means "unset" in Ignition (Go pointers), so the parser drops nulls: an optional
// field here is either absent or holds a real value. Fields that Ignition treats differently when
// set-but-empty (e.g. `source: ""`) keep the empty value.

export const NEWEST_VERSION = '3.6.0';
export const EXPERIMENTAL_VERSION = '3.7.0-experimental';

export interface Config {
  ignition: Ignition;
  kernelArguments?: KernelArguments;
  passwd?: Passwd;
  storage?: Storage;
  systemd?: Systemd;
}

export interface Ignition {
  version: string;
  config?: IgnitionConfig;
  proxy?: Proxy;
  security?: Security;
  timeouts?: Timeouts;
}

export interface IgnitionConfig {
  merge?: Resource[];
  replace?: Resource;
}

export interface Proxy {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string[];
}

export interface Security {
  tls?: { certificateAuthorities?: Resource[] };
}

/** Seconds. Ignition's defaults: httpResponseHeaders 10, httpTotal 0 (no limit). */
export interface Timeouts {
  httpResponseHeaders?: number;
  httpTotal?: number;
}

export interface Resource {
  source?: string;
  compression?: string;
  httpHeaders?: HttpHeader[];
  verification?: Verification;
}

export interface HttpHeader {
  name: string;
  value?: string;
}

export interface Verification {
  /** "sha512-<hex>" or "sha256-<hex>" */
  hash?: string;
}

export interface KernelArguments {
  shouldExist?: string[];
  shouldNotExist?: string[];
}

export interface Passwd {
  users?: PasswdUser[];
  groups?: PasswdGroup[];
}

export interface PasswdUser {
  name: string;
  passwordHash?: string;
  sshAuthorizedKeys?: string[];
  uid?: number;
  gecos?: string;
  homeDir?: string;
  noCreateHome?: boolean;
  primaryGroup?: string;
  groups?: string[];
  noUserGroup?: boolean;
  noLogInit?: boolean;
  shell?: string;
  system?: boolean;
  shouldExist?: boolean;
}

export interface PasswdGroup {
  name: string;
  gid?: number;
  passwordHash?: string;
  system?: boolean;
  shouldExist?: boolean;
}

export interface Storage {
  disks?: Disk[];
  raid?: Raid[];
  filesystems?: Filesystem[];
  files?: File[];
  directories?: Directory[];
  links?: Link[];
  luks?: Luks[];
}

export interface Disk {
  device: string;
  wipeTable?: boolean;
  partitions?: Partition[];
}

export interface Partition {
  label?: string;
  number?: number;
  sizeMiB?: number;
  startMiB?: number;
  typeGuid?: string;
  guid?: string;
  wipePartitionEntry?: boolean;
  shouldExist?: boolean;
  resize?: boolean;
}

export interface Raid {
  name: string;
  level?: string;
  devices?: string[];
  spares?: number;
  options?: string[];
}

export interface Filesystem {
  device: string;
  format?: string;
  wipeFilesystem?: boolean;
  label?: string;
  uuid?: string;
  options?: string[];
  path?: string;
  mountOptions?: string[];
}

export interface NodeUser {
  id?: number;
  name?: string;
}

/** Common to files, directories and links. */
export interface Node {
  path: string;
  overwrite?: boolean;
  user?: NodeUser;
  group?: NodeUser;
}

export interface File extends Node {
  contents?: Resource;
  append?: Resource[];
  mode?: number;
}

export interface Directory extends Node {
  mode?: number;
}

export interface Link extends Node {
  target?: string;
  hard?: boolean;
}

export interface Luks {
  name: string;
  device?: string;
  keyFile?: Resource;
  label?: string;
  uuid?: string;
  options?: string[];
  wipeVolume?: boolean;
  clevis?: Clevis;
  discard?: boolean;
  openOptions?: string[];
  /** 3.5+: IBM Crypto Express secure key. */
  cex?: Cex;
}

export interface Cex {
  enabled?: boolean;
}

export interface Clevis {
  tang?: Tang[];
  tpm2?: boolean;
  threshold?: number;
  custom?: ClevisCustom;
}

export interface Tang {
  url: string;
  thumbprint?: string;
  advertisement?: string;
}

export interface ClevisCustom {
  pin?: string;
  config?: string;
  needsNetwork?: boolean;
}

export interface Systemd {
  units?: Unit[];
}

export interface Unit {
  name: string;
  enabled?: boolean;
  mask?: boolean;
  contents?: string;
  dropins?: Dropin[];
}

export interface Dropin {
  name: string;
  contents?: string;
}
