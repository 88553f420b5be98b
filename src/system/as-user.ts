// Writing a file as another user, the way Ignition writes SSH keys (internal/as_user): with that
// user's effective uid and gid and no supplementary groups, umask 077, every directory of the path
// is mkdir'ed with mode 0700 (an existing one is fine), then the file is opened
// O_WRONLY|O_CREAT|O_TRUNC with mode 0600 and written. The kernel's permission checks are the
// user's, so a root-owned ~/.ssh in the way, or a file the user may not write, fails as it does
// under Ignition, and what gets created is owned by the user (and by the group a set-group-ID
// directory hands down) without any chown.
//
// Node cannot switch credentials for one thread (Ignition clones a thread and calls setreuid in
// it); process.seteuid in this process would switch every thread, including libuv's pool while
// other work (fetches, staging files) may be using it. So a child does it: this same node binary,
// ONE per stage (AsUserWriter: a node start costs ~30 ms here and 0.3-1 s under QEMU TCG), which
// for each user, as root, enters the root's top-level directory of the path (ROOT/home), drops to
// the user's effective ids, runs writeWork() below and switches back to root (checked) before it
// reads the next request. Ignition walks every directory from the host's "/" down as the user;
// starting in ROOT/home means the directories above it (the root itself included) need not be
// searchable by the user. On a real boot that changes nothing (the root of /sysroot is 0755); a
// scratch root from mktemp (0700) works. The data goes through the child's stdin: never argv,
// never a log line. Root's own keys (uid 0, gid 0) need no switch and are written in this process
// by the same function.
//
// Safety beyond Ignition: the caller resolves the path inside the root first (symlinks in existing
// components followed as if the root were "/"), so the directories walked here are real ones; an
// existing component that has become a symlink since is refused instead of followed, and the file
// is opened O_NOFOLLOW (Ignition follows a link there, even one pointing out of the root) and
// O_NONBLOCK (a FIFO there would block Ignition forever), and must be a regular file.
import * as fs from 'node:fs';
import path from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { getLogger } from '../log/logger.js';

export interface AsUserWrite {
  /** Host path of the target root: the child's working directory. */
  root: string;
  /** In-root directory of the file, already resolved inside the root ("/home/core/.ssh"). */
  dir: string;
  /** File name in dir. */
  name: string;
  uid: number;
  gid: number;
  /** Secret-ish: only ever sent through a pipe. */
  data: Uint8Array;
  /**
   * false: write with this process's own credentials (not root, so no switch is possible); the
   * caller hands what was created to the user as far as it can.
   */
  switchUser: boolean;
}

export interface AsUserResult {
  /** In-root paths this call created (directories top-down, then the file), for the caller's chown. */
  created: string[];
  /** How it ran: 'child' (a process as the user), 'in-process' (root as root, or no switch). */
  how: 'child' | 'in-process';
}

/** A failure of one step, with the in-root path it concerned. */
export class AsUserError extends Error {
  constructor(
    readonly step: string,
    readonly at: string,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(`${step} ${at}: ${reason}`);
    this.name = 'AsUserError';
  }
}

/**
 * The work itself. Self-contained (no name from outside its parameters) because the child runs its
 * source text. `base` + "/" + comps... is where it works ("." in the child, whose working directory
 * is ROOT/<prefix>; the root's host path in this process), `prefix` + the same is the in-root path
 * it reports. Returns the in-root paths it created; throws an Error carrying step and at.
 */
export function writeWork(fsm: typeof fs, base: string, prefix: string, comps: string[], name: string, data: Uint8Array): string[] {
  const created: string[] = [];
  const fail = (e: unknown, step: string, at: string): never => {
    const err = (e instanceof Error ? e : new Error(String(e))) as Error & { step?: string; at?: string };
    err.step = step;
    err.at = at;
    throw err;
  };
  let rel = '';
  for (const c of comps) {
    rel += '/' + c;
    try {
      fsm.mkdirSync(base + rel, 0o700);
      created.push(prefix + rel);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') fail(e, 'mkdir', prefix + rel);
      let st: fs.Stats | undefined;
      try {
        st = fsm.lstatSync(base + rel);
      } catch (e2) {
        fail(e2, 'lstat', prefix + rel);
      }
      // Resolved beforehand, so a link here appeared since: do not follow it.
      if (st?.isSymbolicLink()) fail(Object.assign(new Error('is a symbolic link'), { code: 'ELOOP' }), 'mkdir', prefix + rel);
    }
  }
  const file = rel + '/' + name;
  let existed = true;
  try {
    fsm.lstatSync(base + file);
  } catch {
    existed = false;
  }
  const c = fsm.constants;
  let fd = -1;
  try {
    fd = fsm.openSync(base + file, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_NOFOLLOW | c.O_NONBLOCK, 0o600);
  } catch (e) {
    fail(e, 'open', prefix + file);
  }
  try {
    if (!fsm.fstatSync(fd).isFile()) fail(Object.assign(new Error('not a regular file'), { code: 'EINVAL' }), 'open', prefix + file);
    if (!existed) created.push(prefix + file);
    for (let off = 0; off < data.length; ) {
      try {
        off += fsm.writeSync(fd, data, off, data.length - off);
      } catch (e) {
        fail(e, 'write', prefix + file);
      }
    }
  } finally {
    fsm.closeSync(fd);
  }
  return created;
}

/**
 * The child's program: one process serves every user of a stage. Requests arrive on stdin, each a
 * JSON header line {uid, gid, cwd, prefix, comps, name, len} followed by exactly `len` bytes of
 * data; each is answered by one JSON line on stdout ({created} or {error}). Per request, as root:
 * enter `cwd`, then drop the supplementary groups and switch the effective gid and uid to the
 * user's (as Ignition: the real uid stays 0), run writeWork(), switch back to root (euid first,
 * then egid; checked, and the process dies if that did not work) and leave the user's directory
 * before the next request is even parsed. Any failure outside writeWork() itself (a switch that
 * fails, a malformed request) is an uncaught exception: the child dies with its message on stderr
 * and the parent reports it, as when the one-shot child died.
 */
function childProgram(): string {
  return [
    '"use strict";',
    'const fs = require("fs");',
    'process.umask(0o077);',
    `const work = ${writeWork.toString()};`,
    'function serve(j, data) {',
    '  try { process.chdir(j.cwd); }',
    '  catch (e) { return { error: { step: "start", at: j.cwd, code: e.code, errno: e.errno, message: String(e.message) } }; }',
    '  process.setgroups([]);',
    '  process.setegid(j.gid);',
    '  process.seteuid(j.uid);',
    '  let out;',
    '  try { out = { created: work(fs, ".", j.prefix, j.comps, j.name, data) }; }',
    '  catch (e) { out = { error: { step: e.step, at: e.at, code: e.code, errno: e.errno, message: String(e.message) } }; }',
    '  process.seteuid(0);',
    '  process.setegid(0);',
    '  if (process.geteuid() !== 0 || process.getegid() !== 0) throw new Error("could not switch back to root");',
    '  process.chdir("/");',
    '  return out;',
    '}',
    'let pending = Buffer.alloc(0);',
    'process.stdin.on("data", (chunk) => {',
    '  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;',
    '  for (;;) {',
    '    const nl = pending.indexOf(10);',
    '    if (nl < 0) return;',
    '    const j = JSON.parse(pending.toString("utf8", 0, nl));',
    '    if (pending.length < nl + 1 + j.len) return;',
    '    const data = pending.subarray(nl + 1, nl + 1 + j.len);',
    '    pending = pending.subarray(nl + 1 + j.len);',
    '    fs.writeSync(1, JSON.stringify(serve(j, data)) + "\\n");',
    '  }',
    '});',
  ].join('\n');
}

let program: string | undefined;
let childStarts = 0;
// Loaded at the first write as a user (a boot without keys for other users never needs it).
let childProcess: typeof import('node:child_process') | undefined;

/** For tests: how many child processes this process has started to write as users. */
export function asUserChildStarts(): number {
  return childStarts;
}

interface ChildError {
  step?: string;
  at?: string;
  code?: string;
  errno?: number;
  message?: string;
}

function reasonOf(e: ChildError): string {
  // O_NOFOLLOW's answer for a link at the last component.
  if (e.code === 'ELOOP' && e.step === 'open') return 'it is a symbolic link (not followed)';
  if (e.code === 'ELOOP' && e.step === 'mkdir' && e.errno === undefined) return 'it became a symbolic link after the path was resolved (not followed)';
  if (typeof e.errno === 'number') {
    const known = getSystemErrorMap().get(e.errno);
    if (known) return known[1];
  }
  return e.message ?? e.code ?? 'failed';
}

function splitDir(dir: string): string[] {
  return dir.split('/').filter((c) => c !== '' && c !== '.');
}

/** What the child answered for one request, or how it ended before answering. */
interface Reply {
  out?: { created?: string[]; error?: ChildError };
  code?: number | null;
  signal?: string | null;
  stderr?: string;
  spawnError?: Error;
}

/**
 * One child process writing as users, for as many users as a stage has (see childProgram): started
 * at the first write that needs a switch, ended by close(). Requests go one at a time. Between
 * requests the child and its pipes are unref'd, so a writer somebody forgot to close never keeps
 * this process alive (the child ends when its stdin closes, at our exit at the latest).
 */
export class AsUserWriter {
  private child?: import('node:child_process').ChildProcessWithoutNullStreams;
  private replies: Reply[] = [];
  private waiter?: (r: Reply) => void;
  private ended?: Reply;
  private stdout = '';
  private stderr = '';
  private closed?: Promise<void>;

  /** Writes job.data to ROOT/dir/name as job.uid:job.gid (see the top of this file). */
  async write(job: AsUserWrite): Promise<AsUserResult> {
    const comps = splitDir(job.dir);
    if (comps.includes('..') || job.name === '' || job.name.includes('/') || job.name === '.' || job.name === '..') {
      throw new AsUserError('resolve', `${job.dir}/${job.name}`, undefined, 'not a resolved in-root path');
    }
    const inProcess = !job.switchUser || (job.uid === 0 && job.gid === 0);
    if (inProcess) {
      try {
        return { created: writeWork(fs, job.root === '/' ? '' : job.root, '', comps, job.name, job.data), how: 'in-process' };
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { step?: string; at?: string };
        throw new AsUserError(err.step ?? 'write', err.at ?? `${job.dir}/${job.name}`, err.code, reasonOf(err));
      }
    }
    getLogger().debug({}, `writing ${job.dir}/${job.name} as uid ${job.uid}, gid ${job.gid} (child process)`);
    // Start in ROOT/<first component> when that is a directory (looked at as root; the caller
    // resolved the path, so it is not a link): the user's checks apply from there down.
    let prefix = '';
    let cwd = job.root;
    if (comps.length > 0) {
      const top = path.join(job.root, comps[0]);
      if (fs.lstatSync(top, { throwIfNoEntry: false })?.isDirectory()) {
        prefix = '/' + comps[0];
        cwd = top;
      }
    }
    childProcess ??= await import(/* webpackMode: "eager" */ 'node:child_process');
    const header = JSON.stringify({ uid: job.uid, gid: job.gid, cwd, prefix, comps: prefix ? comps.slice(1) : comps, name: job.name, len: job.data.length });
    const result = await this.request(header, job.data);
    if (result.spawnError) {
      throw new AsUserError('start', `${job.dir}/${job.name}`, undefined, `cannot start ${process.execPath} to write as uid ${job.uid}: ${result.spawnError.message}`);
    }
    const out = result.out;
    if (out?.error?.step === 'start') {
      // The directory to start in could not be entered (it went away since it was looked at).
      throw new AsUserError('start', `${job.dir}/${job.name}`, out.error.code, `cannot start in ${cwd} to write as uid ${job.uid}: ${reasonOf(out.error)}`);
    }
    if (out?.error) {
      throw new AsUserError(out.error.step ?? 'write', out.error.at ?? `${job.dir}/${job.name}`, out.error.code, reasonOf(out.error));
    }
    if (!out?.created) {
      const why = result.signal ? `killed by ${result.signal}` : result.code !== undefined ? `exited ${result.code}` : 'answered something unreadable';
      throw new AsUserError('write', `${job.dir}/${job.name}`, undefined, `the process writing as uid ${job.uid} ${why}: ${(result.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    }
    return { created: out.created, how: 'child' };
  }

  /** For tests: the pid of the running child, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the child (its stdin closes) and waits for it. The writer can be used again after. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.setRef(child, true);
    child.stdin.end();
    await this.closed;
  }

  private start(): void {
    program ??= childProgram();
    childStarts++;
    const { spawn } = childProcess!;
    // Nothing of ours (NODE_OPTIONS, proxies, ...) reaches it; it needs no environment. It starts
    // in "/" and enters each request's directory as root.
    const child = spawn(process.execPath, ['-e', program], { cwd: '/', env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.replies = [];
    this.ended = undefined;
    this.stdout = '';
    this.stderr = '';
    let spawnError: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      for (let nl = this.stdout.indexOf('\n'); nl >= 0; nl = this.stdout.indexOf('\n')) {
        const line = this.stdout.slice(0, nl);
        this.stdout = this.stdout.slice(nl + 1);
        let out: Reply['out'];
        try {
          out = JSON.parse(line) as Reply['out'];
        } catch {
          out = undefined;
        }
        this.deliver({ out });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    child.on('error', (e) => (spawnError = e));
    // A child that died early closes its stdin: EPIPE here is reported by its exit status.
    child.stdin.on('error', () => {});
    this.closed = new Promise<void>((resolve) =>
      child.on('close', (code, signal) => {
        if (this.child === child) this.child = undefined;
        this.ended = { code, signal, stderr: this.stderr, spawnError };
        this.deliver(this.ended);
        resolve();
      }),
    );
  }

  private deliver(r: Reply): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(r);
    } else if (r.out !== undefined) this.replies.push(r);
  }

  private async request(header: string, data: Uint8Array): Promise<Reply> {
    if (!this.child) this.start();
    const child = this.child!;
    const reply = new Promise<Reply>((resolve) => {
      const queued = this.replies.shift();
      if (queued) resolve(queued);
      else if (this.ended) resolve(this.ended);
      else this.waiter = resolve;
    });
    this.setRef(child, true);
    child.stdin.write(header + '\n');
    child.stdin.write(data);
    try {
      return await reply;
    } finally {
      this.setRef(child, false);
    }
  }

  private setRef(child: NonNullable<AsUserWriter['child']>, on: boolean): void {
    // The pipes are net.Sockets: ref()/unref() decide whether they keep the event loop alive.
    for (const s of [child.stdin, child.stdout, child.stderr] as unknown as Array<{ ref(): void; unref(): void }>) {
      if (on) s.ref();
      else s.unref();
    }
    if (on) child.ref();
    else child.unref();
  }
}

/**
 * Writes job.data to ROOT/dir/name as job.uid:job.gid (see the top of this file), through
 * `writer` (one child for many users) or, without one, a child of its own that ends at once.
 */
export async function writeFileAsUser(job: AsUserWrite, writer?: AsUserWriter): Promise<AsUserResult> {
  if (writer) return writer.write(job);
  const own = new AsUserWriter();
  try {
    return await own.write(job);
  } finally {
    await own.close();
  }
}
