// A pure model of how sgdisk 1.0.x places partitions, so plan() can say exactly where every
// partition will go without running anything. Ignition resolves "start 0" and "size 0" by running
// `sgdisk --pretend`; this reproduces the rules it relies on (measured against sgdisk 1.0.9, see
// test/disks/sgdisk-model.test.ts, which compares the two on random tables):
//  - alignment is computed once, when the table is loaded: 2048 sectors (1 MiB at 512 B), lowered
//    to the largest power of two dividing every existing partition's start (never below 8 on
//    disks of 2^31 sectors or more);
//  - a default start is the first sector of the LARGEST free block (the first of equals), aligned;
//  - a default end ("+0") is the last sector of the free block holding that default start, even
//    when an explicit start lies elsewhere (then the create fails, as sgdisk's does);
//  - "+N" ends at start+N-1, computed before the start is aligned;
//  - an unaligned explicit start moves down to the alignment boundary when the sectors between are
//    free, else up;
//  - number 0 means the lowest unused slot.

export interface ModelPartition {
  number: number;
  start: number;
  /** Inclusive. */
  end: number;
}

export class SgdiskError extends Error {}

const MAX_ENTRIES = 128;

export class SgdiskModel {
  readonly firstUsable: number;
  readonly lastUsable: number;
  readonly alignment: number;
  private parts = new Map<number, ModelPartition>();

  constructor(opts: { sectorSize: number; totalSectors: number; firstUsable: number; lastUsable: number; partitions: ModelPartition[] }) {
    this.firstUsable = opts.firstUsable;
    this.lastUsable = opts.lastUsable;
    for (const p of opts.partitions) this.parts.set(p.number, { ...p });
    this.alignment = computeAlignment(opts.partitions, opts.sectorSize, opts.totalSectors);
  }

  partitions(): ModelPartition[] {
    return [...this.parts.values()].sort((a, b) => a.number - b.number);
  }

  get(n: number): ModelPartition | undefined {
    return this.parts.get(n);
  }

  delete(n: number): void {
    this.parts.delete(n);
  }

  isFree(s: number): boolean {
    if (s < this.firstUsable || s > this.lastUsable) return false;
    for (const p of this.parts.values()) if (s >= p.start && s <= p.end) return false;
    return true;
  }

  /** Free blocks in disk order. */
  freeBlocks(): Array<{ start: number; end: number }> {
    const sorted = [...this.parts.values()].sort((a, b) => a.start - b.start);
    const out: Array<{ start: number; end: number }> = [];
    let cur = this.firstUsable;
    for (const p of sorted) {
      if (p.start > cur) out.push({ start: cur, end: p.start - 1 });
      cur = Math.max(cur, p.end + 1);
    }
    if (cur <= this.lastUsable) out.push({ start: cur, end: this.lastUsable });
    return out;
  }

  private firstInLargest(): number {
    let best: { start: number; end: number } | undefined;
    for (const b of this.freeBlocks()) if (!best || b.end - b.start > best.end - best.start) best = b;
    return best ? best.start : 0;
  }

  private lastInFree(s: number): number {
    for (const b of this.freeBlocks()) if (s >= b.start && s <= b.end) return b.end;
    return s;
  }

  private align(s: number): number {
    const a = this.alignment;
    if (s % a === 0) return s;
    const earlier = Math.floor(s / a) * a;
    const later = earlier + a;
    if (earlier >= this.firstUsable && this.rangeFree(earlier, s - 1)) return earlier;
    if (later <= this.lastUsable && this.rangeFree(s + 1, later)) return later;
    return s;
  }

  private rangeFree(a: number, b: number): boolean {
    if (a < this.firstUsable || b > this.lastUsable) return false;
    for (const p of this.parts.values()) if (p.start <= b && p.end >= a) return false;
    return true;
  }

  firstFreeNumber(): number {
    for (let n = 1; n <= MAX_ENTRIES; n++) if (!this.parts.has(n)) return n;
    return 0;
  }

  /**
   * `--new=NUMBER:START:+SIZE` with 0 meaning "default" for each. Returns the created partition
   * or throws SgdiskError the way sgdisk refuses ("could not create partition ...").
   */
  create(number: number, start: number | undefined, size: number | undefined): ModelPartition {
    const n = number === 0 ? this.firstFreeNumber() : number;
    if (n < 1 || n > MAX_ENTRIES) throw new SgdiskError(`no free partition slot for a new partition`);
    let low = this.firstInLargest();
    low = low === 0 ? 0 : this.align(low);
    const high = low === 0 ? 0 : this.lastInFree(low);
    let s = start !== undefined && start !== 0 ? start : low;
    const e = size !== undefined && size !== 0 ? s + size - 1 : high;
    if (this.parts.has(n)) throw new SgdiskError(`partition ${n} is in use`);
    if (s === 0 && (start ?? 0) === 0) throw new SgdiskError(`could not create partition ${n}: no free space`);
    s = this.align(s);
    if (e < s || !this.rangeFree(s, e)) throw new SgdiskError(`could not create partition ${n} from ${s} to ${e}`);
    const p = { number: n, start: s, end: e };
    this.parts.set(n, p);
    return p;
  }
}

export function computeAlignment(parts: ReadonlyArray<{ start: number }>, sectorSize: number, totalSectors: number): number {
  let exponent = Math.round(Math.log2((2048 * 512) / sectorSize));
  let align = 2 ** exponent;
  for (const p of parts) {
    for (;;) {
      align = 2 ** exponent;
      if (p.start % align === 0 || exponent === 0) break;
      exponent--;
    }
  }
  if (align < 8 && totalSectors >= 2 ** 31) align = 8;
  return align;
}
