// A small intent journal for crash safety. Before a step whose interruption would leave something
// that looks finished but is not (a half-written mkfs can carry a valid superblock; a half-done
// luksFormat a valid header), the step is recorded; it is removed once the step completed. A rerun
// that finds an entry redoes that step instead of trusting what the probe shows. Partition tables
// need no entry: sgdisk writes them in one go and the GPT's two copies and CRCs let the next read
// detect a torn write.
import { mkdirSync, readFileSync, renameSync, writeFileSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface JournalEntry {
  op: 'filesystem.create' | 'luks.format' | 'raid.create';
  format?: string;
  pointer: string;
  startedAt: string;
}

export type Journal = Record<string, JournalEntry>;

function file(dir: string): string {
  return join(dir, 'journal.json');
}

export function readJournal(dir: string): Journal {
  try {
    return JSON.parse(readFileSync(file(dir), 'utf8')) as Journal;
  } catch {
    return {};
  }
}

function writeJournal(dir: string, j: Journal): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file(dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(j, null, 1));
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file(dir));
}

export function journalBegin(dir: string, device: string, e: Omit<JournalEntry, 'startedAt'>): void {
  const j = readJournal(dir);
  j[device] = { ...e, startedAt: new Date().toISOString() };
  writeJournal(dir, j);
}

export function journalEnd(dir: string, device: string): void {
  const j = readJournal(dir);
  if (!(device in j)) return;
  delete j[device];
  writeJournal(dir, j);
}
