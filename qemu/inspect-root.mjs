// Helper of inspect.sh: prints the JSON report of an image whose ROOT is mounted at ROOT_DIR.
// Usage: node inspect-root.mjs IMAGE ROOT_DIR FS_BYTES [PATH ...]
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const [image, root, fsBytes, ...extra] = process.argv.slice(2);

function sgdisk(...args) {
  return execFileSync('sgdisk', [...args, image], { encoding: 'utf8' });
}

// GPT: one entry per partition, sectors of 512 bytes.
const table = sgdisk('-p');
const diskSectors = Number(/Disk .*: (\d+) sectors/.exec(table)[1]);
const lastUsable = Number(/last usable sector is (\d+)/.exec(table)[1]);
const partitions = [];
for (const m of table.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+\S+\s+(.*)$/gm)) {
  const info = sgdisk('-i', m[1]);
  partitions.push({
    number: Number(m[1]),
    start: Number(m[2]),
    end: Number(m[3]),
    label: m[4].trim(),
    typeGuid: /Partition GUID code: (\S+)/.exec(info)[1].toLowerCase(),
    guid: /Partition unique GUID: (\S+)/.exec(info)[1].toLowerCase(),
  });
}

// The boot loader's stamp, read straight from the FAT.
const esp = partitions.find((p) => p.number === 1);
let firstBootStamp = null;
if (esp) {
  try {
    execFileSync('mdir', ['-i', `${image}@@${esp.start * 512}`, '::/flatcar/first_boot'], {
      env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
      stdio: 'ignore',
    });
    firstBootStamp = true;
  } catch {
    firstBootStamp = false;
  }
}

const files = {};
function record(path, depth) {
  const full = join(root, path);
  let st;
  try {
    st = lstatSync(full);
  } catch {
    files[path] = { type: 'missing' };
    return;
  }
  const entry = { mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid };
  if (st.isSymbolicLink()) files[path] = { type: 'link', target: readlinkSync(full), ...entry };
  else if (st.isDirectory()) {
    files[path] = { type: 'dir', ...entry };
    if (depth > 0) for (const name of readdirSync(full).sort()) record(join(path, name), depth - 1);
  } else if (st.isFile()) {
    const buf = readFileSync(full);
    files[path] = { type: 'file', size: st.size, ...entry, content: st.size <= 65536 ? buf.toString('utf8') : undefined };
  } else files[path] = { type: 'other', ...entry };
}
const defaults = ['/etc', '/home', '/root', '/opt', '/var/lib', '/var/log', '/usr/local'];
for (const p of defaults) record(p, 6);
for (const p of extra) record(p, 6);

const rootPart = partitions.find((p) => p.number === 9);
process.stdout.write(
  JSON.stringify(
    {
      image,
      diskSectors,
      lastUsable,
      partitions,
      root: rootPart ? { ...rootPart, fsBytes: Number(fsBytes), partBytes: (rootPart.end - rootPart.start + 1) * 512 } : null,
      firstBootStamp,
      files,
    },
    null,
    2,
  ) + '\n',
);
