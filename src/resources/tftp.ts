// tftp://host[:port]/path — an RFC 1350 read in octet mode over node:dgram, as Ignition does with
// pin/tftp: the file name sent is the URL's path (with its leading "/"), port 69 by default, each
// packet retransmitted after 5 s of silence, up to 5 times.
// We also ask for a larger block (RFC 2347/2348 "blksize"); a server that ignores options answers
// with plain DATA blocks and we go on with 512 bytes, one that refuses them (error 8) is asked
// again without. The stream is lock-step: the ACK that releases the next block is sent only when
// the consumer wants more data, so memory stays at one block however large the file.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { Readable } from 'node:stream';
import { displayUrl, FetchError } from './errors.js';

const OP_RRQ = 1;
const OP_DATA = 3;
const OP_ACK = 4;
const OP_ERROR = 5;
const OP_OACK = 6;

export interface TftpOptions {
  /** Silence before a retransmission, ms (default 5000, pin/tftp's). */
  timeoutMs?: number;
  /** Retransmissions before giving up (default 5). */
  retries?: number;
  /** Block size to ask for (RFC 2348); 512 = send no option. Default 1428 (fits a 1500 MTU). */
  blockSize?: number;
}

const ERROR_NAMES: Record<number, string> = {
  0: 'error',
  1: 'file not found',
  2: 'access violation',
  3: 'disk full',
  4: 'illegal TFTP operation',
  5: 'unknown transfer ID',
  6: 'file already exists',
  7: 'no such user',
  8: 'option negotiation refused',
};

function rrq(file: string, blockSize: number): Buffer {
  const parts = [Buffer.from([0, OP_RRQ]), Buffer.from(file + '\0octet\0', 'latin1')];
  if (blockSize !== 512) parts.push(Buffer.from(`blksize\0${blockSize}\0`, 'latin1'));
  return Buffer.concat(parts);
}

function ack(block: number): Buffer {
  return Buffer.from([0, OP_ACK, (block >> 8) & 0xff, block & 0xff]);
}

function errorPacket(code: number, msg: string): Buffer {
  return Buffer.concat([Buffer.from([0, OP_ERROR, 0, code]), Buffer.from(msg + '\0', 'latin1')]);
}

function parseOack(buf: Buffer): Record<string, string> {
  const fields = buf.subarray(2).toString('latin1').split('\0');
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i]!.toLowerCase()] = fields[i + 1]!;
  return o;
}

/** Opens tftp://host[:port]/path as a stream of its bytes. */
export async function openTftp(source: string, opts: TftpOptions = {}, signal?: AbortSignal): Promise<Readable> {
  const where = displayUrl(source);
  const u = new URL(source);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port ? Number(u.port) : 69;
  // Ignition sends Go's u.Path: the path with its leading "/", percent-decoded (checked against
  // Ignition 2.14: tftp://host/some/config.ign asks for "/some/config.ign", octet, no options).
  const file = decodeURIComponent(u.pathname);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const retries = opts.retries ?? 5;
  let address = host;
  let family: 4 | 6 = 4;
  if (!net.isIP(host)) {
    try {
      const r = await lookup(host);
      address = r.address;
      family = r.family === 6 ? 6 : 4;
    } catch (err) {
      throw new FetchError(`${where}: host name not resolved`, { cause: err });
    }
  } else family = net.isIP(host) === 6 ? 6 : 4;

  return startTransfer(opts.blockSize ?? 1428);

  function startTransfer(blockSize: number): Promise<Readable> {
    return new Promise((resolveOpen, rejectOpen) => {
      const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      let peerPort: number | undefined; // the server's transfer ID
      let size = 512;
      let expected = 1; // next block number we want
      let lastSent = rrq(file, blockSize);
      let lastSentPort = port;
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      let opened = false;
      let finished = false;
      let pendingAck: number | undefined; // ACK held back until the consumer reads
      let received = 0;

      const stream = new Readable({
        read() {
          if (pendingAck !== undefined) {
            const b = pendingAck;
            pendingAck = undefined;
            send(ack(b), peerPort!);
          }
        },
        destroy(err, cb) {
          shutdown();
          cb(err);
        },
      });

      const shutdown = () => {
        finished = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      };
      const fail = (err: FetchError) => {
        if (finished) return;
        shutdown();
        if (!opened) rejectOpen(err);
        else stream.destroy(err);
      };
      const onAbort = () => fail(new FetchError(`${where}: aborted after ${received} bytes`, { timedOut: true }));
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (++tries > retries) {
            fail(new FetchError(`${where}: no answer from the TFTP server after ${retries + 1} tries of ${timeoutMs / 1000} s (${received} bytes received)`));
            return;
          }
          sock.send(lastSent, lastSentPort, address);
          arm();
        }, timeoutMs);
      };
      const send = (pkt: Buffer, toPort: number) => {
        lastSent = pkt;
        lastSentPort = toPort;
        tries = 0;
        sock.send(pkt, toPort, address);
        arm();
      };
      const open = () => {
        if (!opened) {
          opened = true;
          resolveOpen(stream);
        }
      };

      sock.on('error', (e) => fail(new FetchError(`${where}: ${e.message}`, { cause: e })));
      sock.on('message', (msg, rinfo) => {
        if (finished || msg.length < 4) return;
        if (rinfo.address !== address) return; // not our server: ignore
        if (peerPort === undefined) peerPort = rinfo.port;
        else if (rinfo.port !== peerPort) {
          sock.send(errorPacket(5, 'unknown transfer ID'), rinfo.port, rinfo.address);
          return;
        }
        const op = msg.readUInt16BE(0);
        if (op === OP_ERROR) {
          const code = msg.readUInt16BE(2);
          const text = msg.subarray(4).toString('latin1').replace(/\0.*$/s, '');
          if (code === 8 && blockSize !== 512 && !opened) {
            // The server refuses our blksize option: ask again without options.
            shutdown();
            startTransfer(512).then(resolveOpen, rejectOpen);
            return;
          }
          fail(
            new FetchError(`${where}: TFTP server error ${code} (${ERROR_NAMES[code] ?? 'unknown'})${text ? `: ${text}` : ''}`, {
              notFound: code === 1,
            }),
          );
          return;
        }
        if (op === OP_OACK) {
          if (expected !== 1 || received > 0) return;
          const o = parseOack(msg);
          const b = Number(o.blksize);
          if (o.blksize !== undefined) {
            if (!Number.isInteger(b) || b < 8 || b > blockSize) {
              sock.send(errorPacket(8, 'bad blksize'), rinfo.port, rinfo.address);
              fail(new FetchError(`${where}: the TFTP server offered an invalid block size ${o.blksize}`));
              return;
            }
            size = b;
          }
          open();
          send(ack(0), peerPort);
          return;
        }
        if (op !== OP_DATA) return;
        const block = msg.readUInt16BE(2);
        if (block !== expected) {
          // A retransmission of the previous block: our ACK was lost, say it again.
          if (block === ((expected - 1) & 0xffff) && pendingAck === undefined) sock.send(ack(block), peerPort, address);
          return;
        }
        const data = msg.subarray(4);
        if (data.length > size) {
          fail(new FetchError(`${where}: TFTP block ${block} is larger than the block size ${size}`));
          return;
        }
        open();
        clearTimeout(timer);
        received += data.length;
        expected = (expected + 1) & 0xffff;
        const last = data.length < size;
        if (data.length) stream.push(Buffer.from(data));
        if (last) {
          // The final ACK; the server may retransmit if it is lost, which is harmless.
          sock.send(ack(block), peerPort, address, () => {
            shutdown();
            stream.push(null);
          });
          return;
        }
        if (stream.readableFlowing === false || stream.readableLength >= stream.readableHighWaterMark) pendingAck = block;
        else send(ack(block), peerPort);
      });
      if (signal?.aborted) {
        fail(new FetchError(`${where}: aborted`, { timedOut: true }));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.bind(0, () => send(lastSent, port));
    });
  }
}
