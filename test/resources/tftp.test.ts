// tftp:// against a small TFTP server written here (RFC 1350 + the blksize option of RFC 2348).
import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { fetchResource, openResource, FetchError } from '../../src/resources/index.js';
import { collect, sha512 } from './helpers.js';

interface ServerOpts {
  files: (name: string) => Buffer | undefined;
  options?: 'accept' | 'ignore' | 'refuse';
  dropFirstRrq?: boolean;
  /** Ignore the first ACK of this block (the server then retransmits the block). */
  loseAckOf?: number;
  silent?: boolean;
}

interface TftpServer {
  url: string;
  requests: { file: string; mode: string; options: Record<string, string> }[];
  close(): void;
}

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) {
    s.removeAllListeners('message');
    try {
      s.close();
    } catch {
      /* closed */
    }
  }
});

function udp(): dgram.Socket {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  return s;
}

async function startTftp(o: ServerOpts): Promise<TftpServer> {
  const main = udp();
  const requests: TftpServer['requests'] = [];
  let rrqs = 0;
  main.on('message', (msg, rinfo) => {
    if (o.silent || msg.readUInt16BE(0) !== 1) return;
    if (o.dropFirstRrq && rrqs++ === 0) return;
    const fields = msg.subarray(2).toString('latin1').split('\0');
    const [file, mode] = fields as [string, string];
    const options: Record<string, string> = {};
    for (let i = 2; i + 1 < fields.length; i += 2) if (fields[i]) options[fields[i]!.toLowerCase()] = fields[i + 1]!;
    requests.push({ file, mode, options });
    serveTransfer(file, options, rinfo);
  });
  await new Promise<void>((r) => main.bind(0, '127.0.0.1', () => r()));

  function serveTransfer(file: string, options: Record<string, string>, peer: dgram.RemoteInfo) {
    const t = udp(); // a new transfer ID, as RFC 1350 wants
    let timer: NodeJS.Timeout | undefined;
    t.bind(0, '127.0.0.1');
    let closed = false;
    t.on('close', () => {
      closed = true;
      clearTimeout(timer);
    });
    const send = (b: Buffer) => {
      if (!closed) t.send(b, peer.port, peer.address);
    };
    const err = (code: number, m: string) => send(Buffer.concat([Buffer.from([0, 5, 0, code]), Buffer.from(m + '\0')]));
    const data = o.files(file);
    if (!data) return err(1, 'File not found');
    if (options.blksize && o.options === 'refuse') return err(8, 'no options');
    let size = 512;
    let block = 0; // last block sent
    let lostOnce = false;
    const sendBlock = (n: number) => {
      const chunk = data.subarray((n - 1) * size, n * size);
      send(Buffer.concat([Buffer.from([0, 3, (n >> 8) & 0xff, n & 0xff]), chunk]));
      clearTimeout(timer);
      timer = setTimeout(() => sendBlock(n), 80);
      timer.unref();
    };
    const lastBlock = () => Math.floor(data.length / size) + 1;
    t.on('message', (m) => {
      if (m.readUInt16BE(0) !== 4) return;
      const n = m.readUInt16BE(2);
      if (n !== (block & 0xffff)) return;
      if (o.loseAckOf === n && !lostOnce) {
        lostOnce = true;
        return;
      }
      if (block === lastBlock()) {
        t.close();
        return;
      }
      block++;
      sendBlock(block);
    });
    if (options.blksize && o.options !== 'ignore') {
      size = Math.min(Number(options.blksize), 1024);
      send(Buffer.from(`\0\x06blksize\0${size}\0`, 'latin1'));
      return; // wait for ACK 0
    }
    block = 1;
    sendBlock(1);
  }

  const port = (main.address() as { port: number }).port;
  return { url: `tftp://127.0.0.1:${port}`, requests, close: () => main.close() };
}

const CONTENTS = Buffer.from('asdf\nfdsa');
const CONFIG = Buffer.from('{\n\t"ignition": { "version": "3.0.0" }\n}');
const fixtureFiles = (name: string) => (name.includes('contents') ? CONTENTS : name.includes('config') ? CONFIG : undefined);

describe('tftp://', () => {
  it('fetches like the conformance fixture, sending the path with its leading slash in octet mode', async () => {
    const s = await startTftp({ files: fixtureFiles, options: 'accept' });
    expect((await fetchResource({ source: `${s.url}/contents`, verification: { hash: sha512(CONTENTS) } })).toString()).toBe(CONTENTS.toString());
    expect((await fetchResource({ source: `${s.url}/config` })).toString()).toBe(CONFIG.toString());
    expect(s.requests[0]).toMatchObject({ file: '/contents', mode: 'octet' });
    expect(s.requests[0]!.options.blksize).toBe('1428');
  });

  it('reports "file not found" as a not-found fetch error', async () => {
    const s = await startTftp({ files: fixtureFiles });
    const err = (await fetchResource({ source: `${s.url}/asdf` }).catch((e: unknown) => e)) as FetchError;
    expect(err).toBeInstanceOf(FetchError);
    expect(err.notFound).toBe(true);
    expect(err.message).toMatch(/TFTP server error 1 \(file not found\): File not found/);
  });

  it.each(['accept', 'ignore', 'refuse'] as const)('transfers a multi-block file when the server options mode is %s', async (mode) => {
    const data = randomBytes(300_000);
    const s = await startTftp({ files: () => data, options: mode });
    const got = await fetchResource({ source: `${s.url}/big.img`, verification: { hash: sha512(data) } });
    expect(got.equals(data)).toBe(true);
    if (mode === 'refuse') expect(s.requests.map((r) => r.options.blksize)).toEqual(['1428', undefined]);
  });

  it('handles an exact multiple of the block size (final empty block) and plain 512-byte blocks', async () => {
    const data = randomBytes(512 * 4);
    const s = await startTftp({ files: () => data, options: 'ignore' });
    expect((await fetchResource({ source: `${s.url}/x` }, { tftp: { blockSize: 512 } })).equals(data)).toBe(true);
    expect(s.requests[0]!.options).toEqual({});
  });

  it('retransmits a lost request and re-acknowledges a repeated block', async () => {
    const data = randomBytes(5000);
    const s = await startTftp({ files: () => data, dropFirstRrq: true, loseAckOf: 2 });
    const got = await fetchResource({ source: `${s.url}/x` }, { tftp: { timeoutMs: 100, blockSize: 512 } });
    expect(got.equals(data)).toBe(true);
    expect(s.requests).toHaveLength(1);
  });

  it('gives up on a server that never answers, with a bounded, clear error', async () => {
    const s = await startTftp({ files: fixtureFiles, silent: true });
    const t0 = Date.now();
    const err = (await fetchResource({ source: `${s.url}/contents` }, { tftp: { timeoutMs: 60, retries: 2 } }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/no answer from the TFTP server after 3 tries of 0.06 s/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('streams with bounded memory: the next block is requested only as the consumer reads', async () => {
    const data = randomBytes(200_000);
    const s = await startTftp({ files: () => data, options: 'accept' });
    const stream = await openResource({ source: `${s.url}/x`, verification: { hash: sha512(data) } });
    await new Promise((r) => setTimeout(r, 150)); // nobody reads: the transfer must stall
    expect(stream.readableLength).toBeLessThan(64 * 1024);
    expect((await collect(stream)).equals(data)).toBe(true);
  });

  it('follows block numbers past 65535 (wrap to 0), with the smallest block size to keep it short', async () => {
    // 65 540 blocks of 8 bytes: ~5 s of lock-step round trips on this machine.
    const data = randomBytes(8 * 65540 + 3);
    const main = udp();
    main.on('message', (_msg, peer) => {
      const t = udp();
      t.bind(0, '127.0.0.1', () => {
        let block = 0;
        const send = (n: number) => {
          const chunk = data.subarray((n - 1) * 8, n * 8);
          t.send(Buffer.concat([Buffer.from([0, 3, (n >> 8) & 0xff, n & 0xff]), chunk]), peer.port, peer.address);
        };
        t.on('message', (m) => {
          if (m.readUInt16BE(0) !== 4 || m.readUInt16BE(2) !== (block & 0xffff)) return;
          if (block * 8 > data.length) return t.close();
          send(++block);
        });
        t.send(Buffer.from('\0\x06blksize\x008\0', 'latin1'), peer.port, peer.address);
      });
    });
    await new Promise<void>((r) => main.bind(0, '127.0.0.1', () => r()));
    const port = (main.address() as { port: number }).port;
    const got = await fetchResource({ source: `tftp://127.0.0.1:${port}/x`, verification: { hash: sha512(data) } }, { tftp: { blockSize: 8, timeoutMs: 2000 } });
    expect(got.length).toBe(data.length);
  }, 60_000);

  it('aborts when the caller signal fires', async () => {
    const s = await startTftp({ files: fixtureFiles, silent: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(fetchResource({ source: `${s.url}/contents` }, { signal: ac.signal })).rejects.toThrow(/aborted/);
  });
});
