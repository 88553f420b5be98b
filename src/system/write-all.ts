// Writes all of `data` to a file descriptor, however many write(2) calls that takes: writeSync
// may write less than asked (pipes and FIFOs in particular).
import { writeSync } from 'node:fs';

export function writeAllSync(fd: number, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}
