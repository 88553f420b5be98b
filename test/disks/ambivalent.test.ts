// A device with several signatures: the corpus' ext4 image that also carries a stale zfs label
// (Ignition's filesystem.reuse.ambivalent). Ignition probes again allowing ambivalence and judges
// by the first signature, so a config asking for that ext4 reuses it instead of reformatting.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeFilesystem } from '../../src/disk/blkid.js';
import { decideFilesystem } from '../../stages/disks/filesystems.js';

const corpus = JSON.parse(readFileSync(join(import.meta.dirname, '../conformance/fixtures/ignition/blackbox.json'), 'utf8'));
const kase = corpus.cases.find((c: { name: string }) => c.name === 'filesystem.reuse.ambivalent');
const part = kase.in[0].partitions.find((p: { filesystemImageBzip2Base64?: string }) => p.filesystemImageBzip2Base64);
const dir = mkdtempSync(join(tmpdir(), 'kindling-ambivalent-'));
const image = join(dir, 'fs.img');
// Node has no bzip2: the corpus' raw filesystem images go through the bzip2 tool.
writeFileSync(image, execFileSync('bzip2', ['-dc'], { input: Buffer.from(part.filesystemImageBzip2Base64, 'base64'), maxBuffer: 1 << 30 }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ambivalent filesystems', () => {
  it('are probed as their first signature, still marked ambivalent', async () => {
    const found = await probeFilesystem(image);
    expect(found).toEqual({ type: 'ext4', label: 'some-label', uuid: 'f63bf118-f6d7-40a3-b64c-a92b05a7f9ee', ambivalent: true });
  });
  it('are reused when that signature is what the config asks for, refused when it is not', async () => {
    const found = await probeFilesystem(image);
    const fs = { device: '/dev/x', format: 'ext4', label: 'some-label', uuid: 'f63bf118-f6d7-40a3-b64c-a92b05a7f9ee', wipeFilesystem: false };
    expect(decideFilesystem(fs, found).action).toBe('reuse');
    expect(decideFilesystem({ ...fs, format: 'xfs' }, found).action).toBe('error');
    expect(decideFilesystem({ ...fs, wipeFilesystem: true }, found).action).toBe('create');
  });
  it('with no readable signature are treated as no filesystem', () => {
    expect(decideFilesystem({ device: '/dev/x', format: 'ext4' }, { type: '', label: '', uuid: '', ambivalent: true }).action).toBe('create');
  });
});
