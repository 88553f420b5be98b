// `kindling plan` and `kindling apply` through the built binary: the plan is the one apply carries
// out — every planned file, directory, link and unit exists afterwards as planned, and nothing
// else appears in the target.
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE, kindling } from './helpers.js';

interface Op {
  kind: string;
  pointer: string;
  summary: string;
  details: Record<string, unknown>;
  noop?: boolean;
}
interface Doc {
  format: number;
  sourceVersion: string;
  stages: Array<{ stage: string; ops: Op[]; warnings: string[]; error?: { message: string; pointer?: string } }>;
}

const example = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every file and link below dir (relative, with a leading /); directories separately. */
function walk(dir: string, rel = ''): { entries: string[]; dirs: string[] } {
  const out = { entries: [] as string[], dirs: [] as string[] };
  for (const name of readdirSync(join(dir, rel))) {
    const r = `${rel}/${name}`;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) {
      out.dirs.push(r);
      const sub = walk(dir, r);
      out.entries.push(...sub.entries);
      out.dirs.push(...sub.dirs);
    } else out.entries.push(r);
  }
  return out;
}

describe('kindling plan', () => {
  it('plans every stage of the example against a 40 GiB Flatcar disk, as stable JSON', async () => {
    const r = await kindling(['plan', EXAMPLE, '--disk', '/dev/vda=40G', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.format).toBe(1);
    expect(doc.sourceVersion).toBe('3.3.0');
    expect(doc.stages.map((s) => s.stage)).toEqual(['kargs', 'disks', 'mount', 'files', 'umount']);
    // The same config plans the same way every time: no temporary paths leak into the document.
    expect(r.stdout).not.toMatch(/kindling-plan-root-/);

    const disks = doc.stages[1]!.ops;
    const resize = disks.find((o) => o.kind === 'partition.resize')!;
    expect(resize.pointer).toBe('/storage/disks/0/partitions/0');
    expect(resize.details.partition).toMatchObject({ number: 9, size: 6144 * 2048, label: 'ROOT' });
    const create = disks.find((o) => o.kind === 'partition.create')!;
    const p10 = create.details.partition as { number: number; start: number; size: number };
    expect(p10.number).toBe(10);
    // DATA (sizeMiB 0) fills the disk up to the last usable sector before the backup GPT.
    expect(p10.start + p10.size - 1).toBe(40 * 1024 * 2048 - 34);

    const files = doc.stages[3]!.ops;
    const planned = new Set(files.map((o) => o.details.path as string | undefined).filter(Boolean));
    for (const f of [...example.storage.files, ...example.storage.directories, ...example.storage.links]) {
      expect(planned, f.path).toContain(f.path);
    }
    // Secrets never reach a plan: the password hash is named, never shown.
    expect(r.stdout).not.toContain(example.passwd.users[1].passwordHash);
  });

  it('refuses a config that does not fit the stock 8 GiB image, naming the partition', async () => {
    const r = await kindling(['plan', EXAMPLE, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as Doc;
    const disks = doc.stages.find((s) => s.stage === 'disks')!;
    expect(disks.error?.pointer).toBe('/storage/disks/0/partitions/0');
    expect(disks.error?.message).toMatch(/partition 9/);
    // The other stages still show what they would do.
    expect(doc.stages.find((s) => s.stage === 'files')!.ops.length).toBeGreaterThan(10);
  });

  it('reports a config error with its location and exits 1', async () => {
    const r = await kindling(['plan', '-'], { input: '{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "etc/relative"}]}}' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/storage\/files\/0\/path/);
  });
});

describe('kindling apply --root', () => {
  it('does exactly what the plan says, and nothing else', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kindling-apply-'));
    scratch.push(root);
    const r = await kindling(['apply', EXAMPLE, '--root', root, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1)) as Doc;
    const ops = doc.stages[0]!.ops;

    const accounted = new Set<string>();
    for (const op of ops) {
      const d = op.details;
      const path = (d.path as string | undefined) ?? undefined;
      if (!path) continue;
      accounted.add(path);
      const st = lstatSync(join(root, path));
      if (op.kind === 'file.write') {
        expect(st.isFile(), path).toBe(true);
        expect(st.mode & 0o7777, path).toBe(d.mode);
      } else if (op.kind === 'directory.create') {
        expect(st.isDirectory(), path).toBe(true);
        expect(st.mode & 0o7777, path).toBe(d.mode);
      } else if (op.kind === 'link.create') {
        expect(readlinkSync(join(root, path)), path).toBe(d.target);
      } else if (op.kind === 'unit.mask') {
        expect(readlinkSync(join(root, path))).toBe('/dev/null');
      } else if (op.kind === 'unit.preset') {
        expect(readFileSync(join(root, path), 'utf8').split('\n')).toContain(d.line);
      }
    }
    // Users' SSH keys land where the plan says, owned by the user.
    for (const op of ops.filter((o) => o.kind === 'user.ssh-keys')) {
      const name = op.details.name as string;
      const home = name === 'core' ? '/home/core' : `/home/${name}`;
      const keyFile = `${home}/${op.details.file as string}`;
      accounted.add(keyFile);
      const user = example.passwd.users.find((u: { name: string }) => u.name === name);
      expect(readFileSync(join(root, keyFile), 'utf8')).toContain(user.sshAuthorizedKeys[0]);
    }

    // Nothing else: every file in the tree is planned, or is an account database that the user
    // operations (and the seeding of a blank root) write, with shadow-utils' backups and lock.
    const accountFiles = ['passwd', 'group', 'shadow', 'gshadow'].flatMap((f) => [`/etc/${f}`, `/etc/${f}-`]);
    const allowed = new Set([...accounted, ...accountFiles, '/etc/login.defs', '/etc/.pwd.lock']);
    const { entries, dirs } = walk(root);
    expect(entries.filter((e) => !allowed.has(e))).toEqual([]);
    // Every directory is a planned one or the parent of something planned (or a user's home).
    const unexplained = dirs.filter((d) => ![...allowed].some((p) => p === d || p.startsWith(d + '/')) && !d.startsWith('/home/'));
    expect(unexplained).toEqual([]);
  });
});
