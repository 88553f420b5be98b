// Users and groups, the first thing the files stage does (groups before users, as Ignition).
// The tools are shadow-utils with --root TARGET, with exactly Ignition's flags and defaults
// (internal/exec/util/passwd.go): a new user gets --create-home unless noCreateHome, and the
// password "*" (logins by password disabled) unless a hash is given; an existing user is changed
// with usermod, where only homeDir (--home --move-home) differs from useradd's flags.
// Where Ignition 2.14 and newer Ignition differ, we follow the newer one (its blackbox tests): a
// group that already exists is left alone ("groups.ensure.idempotent"; 2.14 failed on groupadd's
// exit 9), and groupadd gets --password only when a hash is given ("groups.add").
import { chownSync } from 'node:fs';
import { chmod, chown } from 'node:fs/promises';
import path from 'node:path';
import type { PasswdGroup, PasswdUser, StageContextConfig } from './context.js';
import { KindlingError } from '../../src/errors.js';
import { lookupGroup, lookupUser } from '../../src/root/passwd.js';
import { joinRoot, resolveInRoot, toInRoot } from '../../src/root/resolve.js';
import { AsUserError, AsUserWriter, writeFileAsUser } from '../../src/system/as-user.js';
import { run } from '../../src/system/exec.js';
import { PASSWORD_PLACEHOLDER, type FilesOp } from './types.js';
import { entryAt, errno } from './util.js';

function groupArgs(root: string, g: PasswdGroup): string[] {
  const args = ['--root', root];
  if (g.gid !== undefined) args.push('--gid', String(g.gid));
  // Newer Ignition passes a password only when one is given (gshadow then gets groupadd's "!");
  // 2.14 passed "*" (see the known differences in docs/files.md).
  if (g.passwordHash) args.push('--password', PASSWORD_PLACEHOLDER);
  if (g.system) args.push('--system');
  args.push(g.name);
  return args;
}

function userArgs(root: string, u: PasswdUser, exists: boolean): string[] {
  const args = ['--root', root];
  if (exists) {
    if (u.homeDir) args.push('--home', u.homeDir, '--move-home');
  } else {
    if (u.homeDir) args.push('--home-dir', u.homeDir);
    args.push(u.noCreateHome ? '--no-create-home' : '--create-home');
    if (u.noUserGroup) args.push('--no-user-group');
    if (u.system) args.push('--system');
    if (u.noLogInit) args.push('--no-log-init');
  }
  if (u.passwordHash !== undefined) {
    args.push('--password', u.passwordHash !== '' ? PASSWORD_PLACEHOLDER : '*');
  } else if (!exists) {
    args.push('--password', '*');
  }
  if (u.uid !== undefined) args.push('--uid', String(u.uid));
  if (u.gecos) args.push('--comment', u.gecos);
  if (u.primaryGroup) args.push('--gid', u.primaryGroup);
  if (u.groups && u.groups.length > 0) args.push('--groups', u.groups.join(','));
  if (u.shell) args.push('--shell', u.shell);
  args.push(u.name);
  return args;
}

export async function planPasswd(cfg: StageContextConfig): Promise<FilesOp[]> {
  const { config, root } = cfg;
  const ops: FilesOp[] = [];
  for (const [i, g] of (config.passwd?.groups ?? []).entries()) {
    const pointer = `/passwd/groups/${i}`;
    const exists = (await lookupGroup(root, g.name)) !== undefined;
    if (g.shouldExist === false) {
      if (exists) {
        ops.push({ kind: 'group.delete', pointer, summary: `delete group ${g.name}`, details: { name: g.name, tool: 'groupdel', args: ['--root', root, g.name] } });
      } else {
        ops.push({ kind: 'group.keep', pointer, summary: `group ${g.name} is already absent`, details: { name: g.name, exists } });
      }
    } else if (exists) {
      ops.push({ kind: 'group.keep', pointer, summary: `group ${g.name} exists: left as it is`, details: { name: g.name, exists } });
    } else {
      ops.push({
        kind: 'group.add',
        pointer,
        summary: `add group ${g.name}${g.gid !== undefined ? ` (gid ${g.gid})` : ''}`,
        details: { name: g.name, tool: 'groupadd', args: groupArgs(root, g) },
      });
    }
  }
  for (const [i, u] of (config.passwd?.users ?? []).entries()) {
    const pointer = `/passwd/users/${i}`;
    const exists = (await lookupUser(root, u.name)) !== undefined;
    if (u.shouldExist === false) {
      if (exists) {
        ops.push({ kind: 'user.delete', pointer, summary: `delete user ${u.name} and its home`, details: { name: u.name, tool: 'userdel', args: ['--remove', '--root', root, u.name] } });
      } else {
        ops.push({ kind: 'user.absent', pointer, summary: `user ${u.name} is already absent`, details: { name: u.name } });
      }
      continue;
    }
    const tool = exists ? 'usermod' : 'useradd';
    ops.push({
      kind: exists ? 'user.modify' : 'user.add',
      pointer,
      summary: `${exists ? 'modify' : 'add'} user ${u.name}${u.uid !== undefined ? ` (uid ${u.uid})` : ''}`,
      details: { name: u.name, tool, args: userArgs(root, u, exists) },
    });
    // Ignition's ensureUsers: EnsureUser, ModifyHomeDirPermissions, SetPasswordHash,
    // AuthorizeSSHKeys. The keys are written as the user, so mount-point directories in the home
    // must be the user's first.
    if (cfg.createdMountDirs.length > 0) ops.push(homeMountpointsOp(cfg, u.name, i));
    if (u.passwordHash !== undefined) {
      // Ignition sets the hash a second time with usermod right after creating the user.
      ops.push({
        kind: 'user.password',
        pointer,
        summary: `set the password of ${u.name}${u.passwordHash === '' ? ' to "*" (locked)' : ''}`,
        details: { name: u.name, tool: 'usermod', args: ['--root', root, '--password', u.passwordHash !== '' ? PASSWORD_PLACEHOLDER : '*', u.name] },
      });
    }
    if (u.sshAuthorizedKeys && u.sshAuthorizedKeys.length > 0) {
      ops.push({
        kind: 'user.ssh-keys',
        pointer,
        summary: `write ${u.sshAuthorizedKeys.length} SSH key${u.sshAuthorizedKeys.length === 1 ? '' : 's'} for ${u.name} to ~/.ssh/${cfg.keysFragment ? 'authorized_keys.d/ignition' : 'authorized_keys'}`,
        details: { name: u.name, keys: u.sshAuthorizedKeys.length, file: cfg.keysFragment ? '.ssh/authorized_keys.d/ignition' : '.ssh/authorized_keys' },
      });
    }
  }
  return ops;
}

/**
 * The operation for a user when the mount stage created directories for mount points: once the
 * user exists, those inside its home go to the user with mode 0700 (stages/mountpoint-dirs.ts says
 * why). Which ones is decided at apply time, when the home directory is known.
 */
function homeMountpointsOp(cfg: StageContextConfig, name: string, i: number): FilesOp {
  return {
    kind: 'user.home-mountpoints',
    pointer: `/passwd/users/${i}`,
    summary: `give directories created for mount points in ${name}'s home to ${name} (0700)`,
    details: { name, candidates: cfg.createdMountDirs },
  };
}

export async function applyHomeMountpoints(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const d = op.details as { name: string; candidates: string[] };
  const user = await lookupUser(cfg.root, d.name);
  if (!user) throw new KindlingError('files', `no user "${d.name}" in the target root`, { location: { pointer: op.pointer } });
  const home = path.posix.normalize(user.home);
  for (const dir of d.candidates) {
    if (dir !== home && !dir.startsWith(home + '/')) continue;
    // Through the mount: a mount point's own directory shows the mounted filesystem's root, which
    // is what Ignition chowns too.
    const onDisk = await resolveInRoot(cfg.root, dir);
    await chownOrReport(cfg, onDisk, user.uid, user.gid);
    await chmod(onDisk, 0o700);
  }
}

/** Runs a shadow-utils op, putting the password hash (from the config, never from the plan) in place. */
export async function applyPasswdTool(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const d = op.details as { tool: string; args: string[]; name: string };
  const secret: number[] = [];
  const args = d.args.map((a, i) => {
    if (a !== PASSWORD_PLACEHOLDER) return a;
    secret.push(i);
    const entry = entryAt<{ passwordHash?: string }>(cfg.config, op.pointer);
    if (!entry.passwordHash) throw new KindlingError('files', `internal error: no password hash at ${op.pointer}`);
    return entry.passwordHash;
  });
  try {
    await run(d.tool, args, { secretArgs: secret });
  } catch (err) {
    const what = op.kind.startsWith('group') ? 'group' : 'user';
    throw new KindlingError('files', `failed to ${op.kind.split('.')[1]} ${what} "${d.name}": ${(err as Error).message}`, {
      location: { pointer: op.pointer },
      cause: err,
    });
  }
}

/**
 * Writes the user's keys as Ignition does (internal/exec/util/passwd.go writeAuthKeysFile): the
 * keys joined by newlines with a final newline, written AS THE USER (src/system/as-user.ts): every
 * directory of the path mkdir'ed 0700 (existing ones kept), the file opened
 * O_WRONLY|O_CREAT|O_TRUNC 0600, so what is created belongs to the user, an existing file keeps its
 * owner and mode, and a directory or file the user may not write fails the stage as under Ignition.
 * The path is resolved inside the root first (links in the home path stay in the root); the file
 * itself is never followed if it is a link (Ignition follows it, even out of the root).
 */
export async function applySshKeys(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const d = op.details as { name: string; file: string };
  const where = { pointer: op.pointer };
  const user = await lookupUser(cfg.root, d.name);
  if (!user) throw new KindlingError('files', `failed to add SSH keys: no user "${d.name}" in the target root`, { location: where });
  const entry = entryAt<PasswdUser>(cfg.config, op.pointer);
  let text = (entry.sshAuthorizedKeys ?? []).join('\n');
  if (!text.endsWith('\n')) text += '\n';
  let inRoot: string;
  try {
    inRoot = toInRoot(cfg.root, await resolveInRoot(cfg.root, path.posix.join(user.home, d.file)));
  } catch (err) {
    throw new KindlingError('files', `failed to add SSH keys for ${d.name}: ${(err as Error).message}`, { location: where, cause: err });
  }
  // Switching to the user needs root; otherwise (unprivileged runs) we write as ourselves and hand
  // over what we created as far as we can (chownOrReport).
  const switchUser = process.geteuid?.() === 0;
  try {
    // One child process writes the keys of every user of the stage (closed by applyPlan).
    const r = await writeFileAsUser(
      {
        root: cfg.root,
        dir: path.posix.dirname(inRoot),
        name: path.posix.basename(inRoot),
        uid: user.uid,
        gid: user.gid,
        data: Buffer.from(text),
        switchUser,
      },
      (cfg.asUser ??= new AsUserWriter()),
    );
    if (!switchUser) for (const p of r.created) await chownOrReport(cfg, joinRoot(cfg.root, p), user.uid, user.gid);
  } catch (err) {
    const why = err instanceof AsUserError ? `${err.message} (as uid ${user.uid}, gid ${user.gid})` : (err as Error).message;
    throw new KindlingError('files', `failed to add SSH keys for ${d.name} to ${inRoot}: ${why}`, { location: where, cause: err });
  }
}

/** chown that, in unprivileged mode, reports instead of failing when only root could do it. */
export async function chownOrReport(cfg: StageContextConfig, p: string, uid: number, gid: number, lchownFn?: (p: string, u: number, g: number) => Promise<void>): Promise<void> {
  try {
    await (lchownFn ?? chown)(p, uid, gid);
  } catch (err) {
    if (cfg.unprivileged && (errno(err) === 'EPERM' || errno(err) === 'EINVAL')) {
      cfg.unprivilegedReport.push(`${toInRoot(cfg.root, p)}: would be owned by ${uid}:${gid} (needs root)`);
      return;
    }
    throw err;
  }
}

/** chownOrReport with a synchronous chown (the files/directories/links executors). */
export function chownOrReportSync(cfg: StageContextConfig, p: string, uid: number, gid: number, lchownFn: (p: string, u: number, g: number) => void = chownSync): void {
  try {
    lchownFn(p, uid, gid);
  } catch (err) {
    if (cfg.unprivileged && (errno(err) === 'EPERM' || errno(err) === 'EINVAL')) {
      cfg.unprivilegedReport.push(`${toInRoot(cfg.root, p)}: would be owned by ${uid}:${gid} (needs root)`);
      return;
    }
    throw err;
  }
}
