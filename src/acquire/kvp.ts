// The Hyper-V key-value pair (KVP) exchange, read the way hv_kvp_daemon (and libhvee, which
// Ignition's hyperv provider uses) reads it from the hv_utils driver's character device
// /dev/vmbus/hv_kvp, in pure Node:
//  - open the device read-write, non-blocking;
//  - write one registration message (operation KVP_OP_REGISTER1 = 100);
//  - then read messages: the driver first echoes the registration (no answer is sent), then
//    hands over what the host pushed, one KVP_OP_SET (1) message per pair; every message other
//    than the registration is answered with a message whose first 4 bytes are the status HV_S_OK
//    (0), as libhvee answers them;
//  - the exchange is over when nothing arrives for a second (libhvee's poll timeout).
// (Node opens every file with O_CLOEXEC.)
// Every message is sizeof(struct hv_kvp_msg) = 7432 bytes (packed: a 4-byte header
// {u8 operation, u8 pool, u16 pad} and a 7428-byte body union, 4-aligned); a SET body is
// {u32 value_type, u32 key_size, u32 value_size, u8 key[512], u8 value[2048]}, the sizes counting
// the terminating NUL (the driver converts the host's UTF-16 to UTF-8).
// The device path is injectable: tests stand a pseudo-terminal in raw mode in for it, which is
// why reads and writes are accumulated up to a whole message (the real device always transfers
// whole messages).
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';

export const KVP_DEVICE = '/dev/vmbus/hv_kvp';
export const KVP_MSG_SIZE = 7432;
export const KVP_OP_SET = 1;
export const KVP_OP_REGISTER1 = 100;
export const KVP_MAX_KEY_SIZE = 512;
export const KVP_MAX_VALUE_SIZE = 2048;
const KEY_OFFSET = 16;
const VALUE_OFFSET = KEY_OFFSET + KVP_MAX_KEY_SIZE;
/** The pool Windows hosts write to for Linux guests (KVP_POOL_EXTERNAL). */
export const KVP_DEFAULT_POOL = 0;

export interface KvpPair {
  key: string;
  value: string;
}

/** Pairs by pool id (0..4 are always present, as libhvee seeds them). */
export type KvpPools = Map<number, KvpPair[]>;

export interface KvpReadOptions {
  device?: string;
  /** How long the exchange may stay silent before it is considered finished (default 1000 ms). */
  idleMs?: number;
  /** Ends the read (e.g. -fetch-timeout). */
  signal?: AbortSignal;
}

/** A message as the driver lays it out (tests build the host side with it). */
export function encodeKvpMessage(operation: number, pool: number, key = '', value = ''): Buffer {
  const m = Buffer.alloc(KVP_MSG_SIZE);
  m.writeUInt8(operation, 0);
  m.writeUInt8(pool, 1);
  const k = Buffer.from(key, 'utf8');
  const v = Buffer.from(value, 'utf8');
  if (k.length >= KVP_MAX_KEY_SIZE || v.length >= KVP_MAX_VALUE_SIZE) throw new Error('KVP key or value too long');
  m.writeUInt32LE(1, 4); // REG_SZ
  m.writeUInt32LE(k.length + 1, 8);
  m.writeUInt32LE(v.length + 1, 12);
  k.copy(m, KEY_OFFSET);
  v.copy(m, VALUE_OFFSET);
  return m;
}

function field(m: Buffer, offset: number, size: number, max: number): string {
  // The sizes include the final NUL; libhvee cuts it. A size of 0 or beyond the field is refused.
  if (size < 1 || size > max) throw new Error(`malformed KVP message (field size ${size})`);
  return m.subarray(offset, offset + size - 1).toString('utf8');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

/** Reads every pair the host offers through the KVP device. */
export async function readKvp(o: KvpReadOptions = {}): Promise<KvpPools> {
  const device = o.device ?? KVP_DEVICE;
  const idleMs = o.idleMs ?? 1000;
  const pools: KvpPools = new Map([0, 1, 2, 3, 4].map((p) => [p, []]));
  const fd = openSync(device, constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const register = Buffer.alloc(KVP_MSG_SIZE);
    register.writeUInt8(KVP_OP_REGISTER1, 0);
    writeAll(fd, register);
    const msg = Buffer.alloc(KVP_MSG_SIZE);
    let have = 0;
    let quietSince = Date.now();
    for (;;) {
      if (o.signal?.aborted) throw new Error(`reading ${device} was aborted`);
      let n = 0;
      try {
        n = readSync(fd, msg, have, KVP_MSG_SIZE - have, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      }
      if (n > 0) {
        have += n;
        quietSince = Date.now();
        if (have < KVP_MSG_SIZE) continue;
        have = 0;
        const op = msg.readUInt8(0);
        if (op === KVP_OP_REGISTER1) continue;
        if (op === KVP_OP_SET) {
          const pool = msg.readUInt8(1);
          const key = field(msg, KEY_OFFSET, msg.readUInt32LE(8), KVP_MAX_KEY_SIZE);
          const value = field(msg, VALUE_OFFSET, msg.readUInt32LE(12), KVP_MAX_VALUE_SIZE);
          if (!pools.has(pool)) pools.set(pool, []);
          pools.get(pool)!.push({ key, value });
        }
        const reply = Buffer.alloc(KVP_MSG_SIZE); // error = HV_S_OK
        writeAll(fd, reply);
        continue;
      }
      if (Date.now() - quietSince >= idleMs) {
        if (have > 0) throw new Error(`${device}: a message ended after ${have} of ${KVP_MSG_SIZE} bytes`);
        return pools;
      }
      await sleep(10);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The config as Ignition's hyperv provider assembles it from pool 0: the value of
 * "ignition.config", else the values of "ignition.config.0", ".1", ... concatenated up to the
 * first missing index; "" when there is neither.
 */
export function ignitionConfigFromKvp(pools: KvpPools): { config: string; how: 'single' | 'split' | 'none'; parts: number } {
  const pairs = pools.get(KVP_DEFAULT_POOL) ?? [];
  const get = (k: string) => pairs.find((p) => p.key === k)?.value;
  const single = get('ignition.config');
  if (single) return { config: single, how: 'single', parts: 1 };
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const v = get(`ignition.config.${i}`);
    if (v === undefined) break;
    parts.push(v);
  }
  return parts.length ? { config: parts.join(''), how: 'split', parts: parts.length } : { config: '', how: 'none', parts: 0 };
}
