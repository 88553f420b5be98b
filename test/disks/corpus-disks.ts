// Shared by the corpus-driven disk tests: load Ignition's blackbox corpus, build a case's `in`
// disks on loop devices as the upstream harness does, and check `out` as it does.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { LoopLab, sh, sfdiskJson, blkid, partNode } from './loopdisk.js';

export const corpus = JSON.parse(readFileSync('/work/shared/conformance/ignition/blackbox.json', 'utf8'));
export const TYPE_CODES: Record<string, string> = corpus.partitionTypeCodes;

export interface LPart {
  number: number;
  label: string;
  typeCode: string;
  typeGuid: string;
  effectiveTypeGuid: string | null;
  guid: string;
  lengthSectors: number;
  filesystemType: string;
  filesystemLabel: string;
  filesystemUuid: string;
  hybridMbr: boolean;
  ambivalent: boolean;
  startSector?: number;
  filesystemImageBzip2Base64?: string;
  files?: Array<{ path: string; contents: string; mode: number }>;
  directories?: Array<{ path: string; mode: number }>;
  links?: Array<{ path: string; target: string; hard: boolean }>;
}
export interface LDisk {
  alignmentSectors: number;
  corruptTable: boolean;
  partitions: LPart[];
}

export function subst(s: string, map: Map<string, string>): string {
  // Longest keys first so $uuid10 is not eaten by $uuid1.
  for (const k of [...map.keys()].sort((a, b) => b.length - a.length)) s = s.split(k).join(map.get(k)!);
  return s;
}

export function buildDisk(lab: LoopLab, i: number, d: LDisk, size: number): string {
  const img = lab.image(`disk${i}.img`, size);
  const args: string[] = [];
  const hybrid: number[] = [];
  for (const p of d.partitions) {
    if (p.typeCode === 'blank' || p.lengthSectors === 0) continue;
    args.push(`--new=${p.number}:${p.startSector}:+${p.lengthSectors}`, `--change-name=${p.number}:${p.label}`);
    const type = p.typeCode ? p.effectiveTypeGuid ?? TYPE_CODES[p.typeCode] : p.typeGuid;
    if (type) args.push(`--typecode=${p.number}:${type}`);
    if (p.guid) args.push(`--partition-guid=${p.number}:${p.guid}`);
    if (p.hybridMbr) hybrid.push(p.number);
  }
  if (hybrid.length) args.push(`--hybrid=${hybrid.join(':')}`);
  if (args.length) sh('sgdisk', [...args, img]);
  const dev = lab.attach(img);
  for (const p of d.partitions) {
    if (p.typeCode === 'blank' || p.lengthSectors === 0) continue;
    const node = partNode(dev, p.number);
    const L = p.filesystemLabel;
    const U = p.filesystemUuid;
    switch (p.filesystemType) {
      case 'ext2':
      case 'ext4':
        sh('mke2fs', ['-q', '-t', p.filesystemType, '-b', '4096', '-i', '4096', '-I', '128', ...(L ? ['-L', L] : []), ...(U ? ['-U', U] : []), node]);
        break;
      case 'vfat':
        sh('mkfs.vfat', [...(L ? ['-n', L] : []), ...(U ? ['-i', U.replace('-', '')] : []), node]);
        break;
      case 'btrfs':
        sh('mkfs.btrfs', ['-q', '-f', ...(L ? ['-L', L] : []), ...(U ? ['-U', U] : []), node]);
        break;
      case 'xfs':
        sh('mkfs.xfs', ['-q', '-f', ...(L ? ['-L', L] : []), ...(U ? ['-m', `uuid=${U}`] : []), node]);
        break;
      case 'swap':
        sh('mkswap', ['-f', ...(L ? ['-L', L] : []), ...(U ? ['-U', U] : []), node]);
        break;
      case 'image': {
        const r = spawnSync('sh', ['-c', `base64 -d | bzip2 -dc | dd of=${node} bs=1M conv=notrunc status=none`], { input: p.filesystemImageBzip2Base64 });
        if (r.status !== 0) throw new Error(`writing image: ${r.stderr}`);
        break;
      }
      default:
        break;
    }
  }
  if (d.corruptTable) {
    const r = spawnSync('sh', ['-c', `head -c 1536 /dev/urandom | dd of=${dev} conv=notrunc status=none`]);
    if (r.status !== 0) throw new Error('corrupting table failed');
  }
  return dev;
}

export function checkOut(dev: string, d: LDisk): string[] {
  const problems: string[] = [];
  const table = sfdiskJson(dev).partitions;
  const wanted = d.partitions.filter((p) => p.typeCode !== 'blank');
  const numOf = (node: string): number => Number(/(\d+)$/.exec(node)![1]);
  const gotNums = table.map((p) => numOf(p.node)).sort((a, b) => a - b);
  const wantNums = wanted.map((p) => p.number).sort((a, b) => a - b);
  if (JSON.stringify(gotNums) !== JSON.stringify(wantNums)) problems.push(`partition numbers ${gotNums} != ${wantNums}`);
  for (const w of wanted) {
    const g = table.find((p) => numOf(p.node) === w.number);
    if (!g) continue;
    if ((g.name ?? '') !== w.label) problems.push(`p${w.number} label "${g.name}" != "${w.label}"`);
    const a = d.alignmentSectors;
    const want = Math.ceil(w.lengthSectors / a) * a;
    if (g.size !== want) problems.push(`p${w.number} size ${g.size} != ${want}`);
    const type = w.typeCode ? w.effectiveTypeGuid ?? TYPE_CODES[w.typeCode] ?? '' : w.typeGuid;
    const norm = (s: string): string => s.toLowerCase().replace(/-/g, '');
    if (type && norm(type) !== norm(g.type)) problems.push(`p${w.number} type ${g.type} != ${type}`);
    if (w.guid && norm(w.guid) !== norm(g.uuid)) problems.push(`p${w.number} guid ${g.uuid} != ${w.guid}`);
    const fs = blkid(partNode(dev, w.number), w.ambivalent ? w.filesystemType : undefined);
    if (w.filesystemType && !(w.ambivalent && fs.AMBIVALENT) && fs.TYPE !== w.filesystemType) problems.push(`p${w.number} fs ${fs.TYPE} != ${w.filesystemType}`);
    if (w.filesystemLabel && fs.LABEL !== w.filesystemLabel) problems.push(`p${w.number} fs label ${fs.LABEL} != ${w.filesystemLabel}`);
    if (w.filesystemUuid && norm(fs.UUID ?? '') !== norm(w.filesystemUuid)) problems.push(`p${w.number} fs uuid ${fs.UUID} != ${w.filesystemUuid}`);
  }
  return problems;
}

