// The partition, filesystem and LUKS cases of Ignition's blackbox suite (conformance corpus),
// run through Kindling's disks, mount and umount stages against real loop devices. Disks are built
// and checked as the corpus README describes the upstream harness: `in` built with sgdisk + mkfs,
// `out` compared on numbers, labels, sizes (rounded up to the alignment), type GUIDs, GUIDs and
// filesystem type/label/UUID. Positive cases must succeed; negative ones must fail in some stage.
// Besides the corpus checks: the table after apply equals the plan (sfdisk --json) and sgdisk -v
// finds no problem.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../src/config/index.js';
import { disksStage } from '../../stages/disks/index.js';
import { mountStage } from '../../stages/mount.js';
import { umountStage } from '../../stages/umount.js';
import { localContext } from '../../src/engine/context.js';
import { LoopLab, sfdiskJson, sgdiskVerify, partNode } from './loopdisk.js';
import { corpus, subst, buildDisk, checkOut, type LDisk } from './corpus-disks.js';
import type { DisksPlan } from '../../stages/disks/plan.js';
import { symlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const cases = (corpus.cases as Array<Record<string, unknown>>).filter(
  (c) => /tests\/(positive|negative)\/(partitions|filesystems|luks)\//.test(c.sourceFile as string) && !(c.requires as string[]).includes('tpm2+clevis'),
);

const results: Array<{ name: string; ok: boolean; why?: string }> = [];
afterAll(() => {
  const pass = results.filter((r) => r.ok).length;
  console.log(`blackbox disk cases: ${pass}/${results.length} pass`);
  for (const r of results.filter((x) => !x.ok)) console.log(`  FAIL ${r.name}: ${r.why}`);
});

// What this kernel cannot do (measured on the build machine): no vfat driver, no working
// device-mapper (dm_mod), no md. Cases that need them are reported as environment skips.
const kernelFs = readFileSync('/proc/filesystems', 'utf8');
function environmentGap(c: Record<string, unknown>): string | undefined {
  const text = c.config as string;
  if (/"luks"/.test(text) && c.kind === 'positive' && spawnSync('dmsetup', ['version']).status !== 0) return 'device-mapper is not available in this kernel';
  const mountsVfat = /"format":\s*"vfat"/.test(text) && /"path"/.test(text);
  if (mountsVfat && c.kind === 'positive' && !/\svfat\n/.test(kernelFs)) return 'the kernel has no vfat driver (the mount stage cannot mount it)';
  return undefined;
}

// Cases run concurrently: most of their time is sgdisk sleeping (1 s per write), not CPU.
describe.concurrent('Ignition blackbox disk cases on loop devices', () => {
  for (const c of cases) {
    const gap = environmentGap(c);
    it.skipIf(!!gap)(`${c.kind} ${c.name}${gap ? ` (skipped: ${gap})` : ''}`, async () => {
      const lab = new LoopLab('kindling-bb-');
      const map = new Map<string, string>();
      const luksNames: string[] = [];
      try {
        const versions = c.registeredVersions as string[];
        const version = versions.includes('3.6.0') ? '3.6.0' : versions[versions.length - 1] ?? '3.6.0';
        const cfgText0 = (c.config as string).split('$version').join(version);
        for (const m of (cfgText0 + JSON.stringify(c.in) + JSON.stringify(c.out)).match(/\$uuid\d+/g) ?? []) if (!map.has(m)) map.set(m, randomUUID());
        const ins: LDisk[] = JSON.parse(subst(JSON.stringify(c.in), map));
        const outs: LDisk[] = JSON.parse(subst(JSON.stringify(c.out), map));
        const sizes = c.diskImageSizesBytes as number[];
        const devs = ins.map((d, i) => buildDisk(lab, i, d, sizes[i]!));
        let text = subst(cfgText0, map);
        for (const [i, dev] of devs.entries()) {
          for (const m of c.mntDevices as Array<{ label: string; substitution: string }>) {
            const p = ins[i]!.partitions.find((x) => x.label === m.label);
            if (p) text = text.split(m.substitution).join(partNode(dev, p.number));
          }
          text = text.split(`$disk${i}`).join(dev);
        }
        for (const m of text.match(/"name":\s*"([^"]+)"/g) ?? []) luksNames.push(m.replace(/.*"([^"]+)"$/, '$1'));
        for (const n of luksNames) lab.trackMapper(n);

        // Root: the partition labelled ROOT, mounted as the upstream harness does.
        const rootDisk = ins.findIndex((d) => d.partitions.some((p) => p.label === 'ROOT'));
        const root = join(lab.dir, 'root');
        mkdirSync(root);

        let failure: unknown;
        let plan: DisksPlan | undefined;
        try {
          const { config } = parseConfig(text);
          const ctx = localContext({ config, root, options: { candidateDisks: devs, stateDir: join(lab.dir, 'state') } });
          plan = await disksStage.plan(ctx);
          await disksStage.apply(ctx, plan);
          if (rootDisk >= 0) {
            const rp = ins[rootDisk]!.partitions.find((p) => p.label === 'ROOT')!;
            lab.mount(partNode(devs[rootDisk]!, rp.number), root);
            // The nodes the case puts on ROOT (a symlink under a mount path matters to the mount stage).
            for (const d of rp.directories ?? []) mkdirSync(join(root, d.path), { recursive: true });
            for (const f of rp.files ?? []) {
              mkdirSync(dirname(join(root, f.path)), { recursive: true });
              writeFileSync(join(root, f.path), f.contents);
            }
            for (const l of rp.links ?? []) {
              mkdirSync(dirname(join(root, l.path)), { recursive: true });
              if (!l.hard) symlinkSync(l.target, join(root, l.path));
            }
          }
          const mp = await mountStage.plan(ctx);
          try {
            await mountStage.apply(ctx, mp);
          } finally {
            await umountStage.apply(ctx, await umountStage.plan(ctx));
          }
        } catch (e) {
          failure = e;
        }
        if (c.kind === 'negative') {
          const ok = failure !== undefined;
          results.push({ name: c.name as string, ok, why: ok ? undefined : 'every stage succeeded' });
          expect(failure, 'a negative case must fail in some stage').toBeDefined();
          return;
        }
        if (failure) {
          results.push({ name: c.name as string, ok: false, why: String((failure as Error).message) });
          throw failure;
        }
        const problems: string[] = [];
        for (const [i, d] of outs.entries()) {
          problems.push(...checkOut(devs[i]!, d).map((p) => `disk${i}: ${p}`));
          const v = sgdiskVerify(devs[i]!);
          if (!/No problems found/.test(v) && !/Creating new GPT/.test(v)) problems.push(`disk${i}: sgdisk -v: ${v.trim().split('\n').slice(0, 3).join(' ')}`);
        }
        // Plan vs reality: every committed table is exactly what sfdisk reads back.
        for (const op of plan!.ops.filter((o) => o.kind === 'partition.commit')) {
          const got = sfdiskJson(op.details.device as string).partitions.map((p) => ({ n: Number(/(\d+)$/.exec(p.node)![1]), start: p.start, size: p.size, name: p.name ?? '', type: p.type.toUpperCase() }));
          const want = (op.details.expect as Array<{ number: number; start: number; size: number; label: string; typeGuid: string }>).map((p) => ({ n: p.number, start: p.start, size: p.size, name: p.label, type: p.typeGuid.toUpperCase() }));
          if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`plan != reality on ${op.details.device}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
        }
        results.push({ name: c.name as string, ok: problems.length === 0, why: problems.join('; ') });
        expect(problems).toEqual([]);
      } finally {
        lab.cleanup();
      }
    });
  }
});
