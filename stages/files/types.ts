// The files stage's plan: plain data, one operation per thing Ignition does, in Ignition's order.
// Secrets never enter it: password hashes and file contents stay in the config, and apply() reads
// them through each operation's JSON pointer.
import type { Plan, PlannedOp } from '../types.js';

export type FilesOpKind =
  | 'group.add'
  | 'group.delete'
  | 'group.keep'
  | 'user.add'
  | 'user.modify'
  | 'user.delete'
  | 'user.absent'
  | 'user.password'
  | 'user.ssh-keys'
  | 'user.home-mountpoints'
  | 'directory.create'
  | 'file.write'
  | 'link.create'
  | 'unit.dropin'
  | 'unit.write'
  | 'unit.mask'
  | 'unit.unmask'
  | 'unit.preset'
  | 'provider.file'
  | 'result.write';

/** A user or group of a node: by id, by name (looked up in the target root at apply time), or unset. */
export interface OwnerSpec {
  id?: number;
  name?: string;
}

export interface ResourceSummary {
  /** The URL as it may be shown (no data: bodies, no credentials). */
  source: string;
  scheme: string;
  compression?: string;
  /** "sha512" / "sha256" when a verification hash is given. */
  verify?: string;
  /** Needs the network (fetched ahead, concurrently). */
  remote: boolean;
}

export interface NodeDetails {
  /** As written in the config. */
  path: string;
  /** Where it lands inside the root after following the root's symlinks ("/etc/x"). */
  resolved: string;
  overwrite: boolean;
  user?: OwnerSpec;
  group?: OwnerSpec;
}

export interface FileDetails extends NodeDetails {
  mode?: number;
  /** Absent: keep an existing file's contents (or create an empty one). */
  contents?: ResourceSummary;
  append: ResourceSummary[];
}

export interface DirectoryDetails extends NodeDetails {
  mode?: number;
}

export interface LinkDetails extends NodeDetails {
  target: string;
  hard: boolean;
  /** Hard links: where the target resolves inside the root. */
  resolvedTarget?: string;
}

export interface FilesOp extends PlannedOp {
  kind: FilesOpKind;
}

export interface FilesPlan extends Plan {
  stage: 'files';
  ops: FilesOp[];
}

/** Marks the place of a password hash in a command line shown in a plan. */
export const PASSWORD_PLACEHOLDER = '<passwordHash>';
