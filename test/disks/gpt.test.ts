// Our GPT reader and writer against the reference tools (sgdisk, sfdisk), on image files.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, openSync, closeSync, ftruncateSync, writeSync, truncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGpt, writeGptFd } from '../../src/disk/gpt.js';
import { guidFromBytes, guidToBytes } from '../../src/disk/guid.js';
import { writePlannedTable } from '../../stages/disks/write-table.js';
import { sgdiskArgs } from '../../stages/disks/plan.js';
import type { TablePartition } from '../../stages/disks/plan-partitions.js';

const dir = mkdtempSync(join(tmpdir(), 'kindling-gpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECTORS = 131072;

function blank(name: string, sectors = SECTORS): string {
  const p = join(dir, name);
  const fd = openSync(p, 'w');
  ftruncateSync(fd, sectors * 512);
  closeSync(fd);
  return p;
}
const sf = (p: string) => JSON.parse(execFileSync('sfdisk', ['--json', p]).toString()).partitiontable;

describe('GPT', () => {
  it('GUIDs round-trip in mixed-endian form', () => {
    const g = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
    expect(guidToBytes(g).toString('hex')).toBe('28732ac11ff8d211ba4b00a0c93ec93b');
    expect(guidFromBytes(guidToBytes(g))).toBe(g);
  });

  it('reads what sgdisk writes, field for field', () => {
    const img = blank('sg.img');
    execFileSync('sgdisk', ['-n', '1:2048:+8M', '-c', '1:EFI-SYSTEM', '-t', '1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B', '-n', '3:0:+16M', '-c', '3:data é', '-A', '3:set:2', img]);
    const t = readGpt(img, 512, SECTORS)!;
    const ref = sf(img);
    expect(t.primaryOk && t.backupOk && !t.backupMisplaced).toBe(true);
    expect(t.header.diskGuid).toBe(ref.id);
    expect(t.partitions.map((p) => [p.number, p.startLba, p.sizeSectors, p.typeGuid, p.guid, p.label])).toEqual(
      ref.partitions.map((p: { node: string; start: number; size: number; type: string; uuid: string; name: string }) => [Number(/(\d+)$/.exec(p.node)![1]), p.start, p.size, p.type, p.uuid, p.name]),
    );
    expect(t.partitions[1]!.attributes).toBe(4n);
  });

  it('writes what sgdisk -v calls clean and sfdisk reads back', () => {
    const img = blank('own.img');
    const fd = openSync(img, 'r+');
    writeGptFd(fd, 512, SECTORS, {
      diskGuid: '01234567-89AB-4CDE-8F01-23456789ABCD',
      partitions: [
        { number: 2, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE', startLba: 4096, endLba: 8191, label: 'ROOT' },
        { number: 5, typeGuid: '3884DD41-8582-4404-B9A8-E9B84F2DF50E', guid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEE5', startLba: 8192, endLba: SECTORS - 34, label: 'x'.repeat(36) },
      ],
    });
    closeSync(fd);
    expect(execFileSync('sgdisk', ['-v', img]).toString()).toMatch(/No problems found/);
    const ref = sf(img);
    expect(ref.id).toBe('01234567-89AB-4CDE-8F01-23456789ABCD');
    expect(ref.partitions.map((p: { start: number; size: number; name: string }) => [p.start, p.size, p.name])).toEqual([
      [4096, 4096, 'ROOT'],
      [8192, SECTORS - 34 - 8192 + 1, 'x'.repeat(36)],
    ]);
  });

  it('falls back to the backup when the primary is damaged, and notices a misplaced backup', () => {
    const img = blank('bad.img');
    execFileSync('sgdisk', ['-n', '1:2048:+8M', '-c', '1:keep', img]);
    const fd = openSync(img, 'r+');
    writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, 512); // primary header
    closeSync(fd);
    const t = readGpt(img, 512, SECTORS)!;
    expect(t.primaryOk).toBe(false);
    expect(t.backupOk).toBe(true);
    expect(t.partitions.map((p) => p.label)).toEqual(['keep']);
    expect(t.problems.join()).toMatch(/primary/);

    const grown = blank('grown.img');
    execFileSync('sgdisk', ['-n', '1:2048:+8M', grown]);
    truncateSync(grown, SECTORS * 2 * 512);
    const g = readGpt(grown, 512, SECTORS * 2)!;
    expect(g.backupMisplaced).toBe(true);
    expect(g.partitions).toHaveLength(1);
  });

  it('our table writer and sgdisk produce the same table for the same plan', async () => {
    const mk = (name: string): string => {
      const img = blank(name);
      execFileSync('sgdisk', ['--disk-guid=0D15C0DE-0000-4000-8000-000000000001', '-n', '1:2048:+8M', '-c', '1:one', '-u', '1:11111111-1111-4111-8111-111111111111', '-n', '2:0:+8M', '-c', '2:two', '-u', '2:22222222-2222-4222-8222-222222222222', img]);
      return img;
    };
    const a = mk('a.img');
    const b = mk('b.img');
    // delete 2, grow 1, add 3 and 7
    const expect_: TablePartition[] = [
      { number: 1, start: 2048, size: 40960, label: 'one', typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '11111111-1111-4111-8111-111111111111' },
      { number: 3, start: 43008, size: 2048, label: 'three', typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', guid: '33333333-3333-4333-8333-333333333333' },
      { number: 7, start: 45056, size: SECTORS - 34 - 45056 + 1, label: 'seven', typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '77777777-7777-4777-8777-777777777777' },
    ];
    const args = sgdiskArgs([1, 2], [expect_[0]!, expect_[1]!, expect_[2]!]);
    await writePlannedTable(a, expect_, { wipe: false, writer: 'kindling', sgdiskArgs: args });
    await writePlannedTable(b, expect_, { wipe: false, writer: 'sgdisk', sgdiskArgs: args });
    const strip = (t: { partitions: Array<Record<string, unknown>> }) => t.partitions.map(({ node: _n, ...rest }) => rest);
    expect(strip(sf(a))).toEqual(strip(sf(b)));
    expect(sf(a).id).toBe(sf(b).id);
    expect(execFileSync('sgdisk', ['-v', a]).toString()).toMatch(/No problems found/);
  });
});
