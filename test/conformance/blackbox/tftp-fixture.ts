// The TFTP fixture of Ignition's blackbox suite on udp 127.0.0.1:69: a read request whose file
// name contains "contents" gets the contents body, else one containing "config" gets the config
// body, else "file not found". A small RFC 1350 server with the option extension (RFC 2347-2349:
// blksize, tsize, timeout), enough for Go's pin/tftp client and curl.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Corpus } from './corpus.js';

const OP_RRQ = 1;
const OP_DATA = 3;
const OP_ACK = 4;
const OP_ERROR = 5;
const OP_OACK = 6;

export interface TftpLogEntry {
  file: string;
  options: Record<string, string>;
  result: string;
}

export function tftpBody(corpus: Corpus, file: string): Buffer | undefined {
  if (file.includes('contents')) return Buffer.from(corpus.tftpServer.files.contents.body, 'utf8');
  if (file.includes('config')) return Buffer.from(corpus.tftpServer.files.config.body, 'utf8');
  return undefined;
}

function parseRrq(msg: Buffer): { file: string; mode: string; options: Record<string, string> } | undefined {
  if (msg.length < 4 || msg.readUInt16BE(0) !== OP_RRQ) return undefined;
  const parts = msg.subarray(2).toString('latin1').split('\0');
  if (parts.length < 2) return undefined;
  const options: Record<string, string> = {};
  for (let i = 2; i + 1 < parts.length; i += 2) if (parts[i]) options[parts[i].toLowerCase()] = parts[i + 1];
  return { file: parts[0], mode: parts[1], options };
}

function errorPacket(code: number, message: string): Buffer {
  return Buffer.concat([Buffer.from([0, OP_ERROR, 0, code]), Buffer.from(message + '\0', 'latin1')]);
}

/** Serves one read request from its own socket (its own TID), as the protocol wants. */
function serveTransfer(peer: RemoteInfo, body: Buffer, options: Record<string, string>): void {
  const sock = createSocket('udp4');
  let blksize = 512;
  let timeoutMs = 1000;
  const oack: [string, string][] = [];
  if (options.blksize !== undefined) {
    const n = Number(options.blksize);
    if (Number.isInteger(n) && n >= 8) {
      blksize = Math.min(n, 65464);
      oack.push(['blksize', String(blksize)]);
    }
  }
  if (options.tsize !== undefined) oack.push(['tsize', String(body.length)]);
  if (options.timeout !== undefined) {
    const n = Number(options.timeout);
    if (Number.isInteger(n) && n >= 1 && n <= 255) {
      timeoutMs = n * 1000;
      oack.push(['timeout', String(n)]);
    }
  }
  const blocks = Math.floor(body.length / blksize) + 1; // the last block is short, possibly empty
  let current = oack.length ? 0 : 1; // block 0 = the OACK, acknowledged by ACK 0
  let tries = 0;
  let timer: NodeJS.Timeout | undefined;
  const packetFor = (n: number): Buffer => {
    if (n === 0) {
      return Buffer.concat([Buffer.from([0, OP_OACK]), Buffer.from(oack.map(([k, v]) => `${k}\0${v}\0`).join(''), 'latin1')]);
    }
    const head = Buffer.alloc(4);
    head.writeUInt16BE(OP_DATA, 0);
    head.writeUInt16BE(n & 0xffff, 2);
    return Buffer.concat([head, body.subarray((n - 1) * blksize, n * blksize)]);
  };
  const finish = () => {
    if (timer) clearTimeout(timer);
    sock.close();
  };
  const sendCurrent = () => {
    if (timer) clearTimeout(timer);
    if (tries++ > 5) return finish();
    sock.send(packetFor(current), peer.port, peer.address);
    timer = setTimeout(sendCurrent, timeoutMs);
  };
  sock.on('message', (msg, from) => {
    if (from.port !== peer.port || from.address !== peer.address || msg.length < 4) return;
    const op = msg.readUInt16BE(0);
    if (op === OP_ERROR) return finish();
    if (op !== OP_ACK) return;
    if (msg.readUInt16BE(2) !== (current & 0xffff)) return;
    if (current >= blocks) return finish();
    current++;
    tries = 0;
    sendCurrent();
  });
  sock.on('error', finish);
  sock.bind(0, '127.0.0.1', sendCurrent);
}

export async function startTftpFixture(corpus: Corpus, log: TftpLogEntry[], port = 69): Promise<Socket> {
  const server = createSocket('udp4');
  server.on('message', (msg, peer) => {
    const rrq = parseRrq(msg);
    if (!rrq) {
      server.send(errorPacket(4, 'illegal TFTP operation'), peer.port, peer.address);
      return;
    }
    const body = tftpBody(corpus, rrq.file);
    log.push({ file: rrq.file, options: rrq.options, result: body ? `${body.length} bytes` : 'not found' });
    if (!body) {
      const s = createSocket('udp4');
      s.bind(0, '127.0.0.1', () => s.send(errorPacket(1, `no such file "${rrq.file}"`), peer.port, peer.address, () => s.close()));
      return;
    }
    serveTransfer(peer, body, rrq.options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(port, '127.0.0.1', () => resolve());
  });
  return server;
}
