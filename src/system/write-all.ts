// Writes all of `data` to a file descriptor, however many write(2) calls that takes: writeSync
// may write less than asked (pipes and FIFOs in particular).
import { writeSync } from 'node:fs';

export function writeAllSync(fd: number, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}

let sleeper: Int32Array | undefined;

/**
 * Command output (usage, --version, validate's report) on stdout or stderr without
 * process.stdout/stderr: creating those streams loads node's whole stream machinery, about 3 ms
 * of start-up for a line or two (docs/startup.md). Like a synchronous stream: waits while a
 * non-blocking pipe is full (EAGAIN), and drops the output once the reader has gone (EPIPE)
 * instead of throwing.
 */
export function writeOutSync(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw err;
      Atomics.wait((sleeper ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 10);
    }
  }
}
