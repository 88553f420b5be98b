// The Hyper-V key-value pair (KVP) exchange, read the way hv_kvp_daemon (and libhvee, which
// Ignition's hyperv provider uses) reads it from the hv_utils driver's character device
// /dev/vmbus/hv_kvp, without native code:
//  - open the device read-write;
//  - write one registration message (operation KVP_OP_REGISTER1 = 100);
//  - then read messages: the driver first echoes the registration (no answer is sent), then
//    hands over what the host pushed, one KVP_OP_SET (1) message per pair; every message other
//    than the registration is answered with a message whose first 4 bytes are a status, as libhvee
//    answers them: HV_S_OK (0) for a SET, HV_E_FAIL (0x80004005) for any other operation;
//  - the exchange is over when nothing arrives for a second (libhvee's poll timeout).
// The driver's read() waits for the next message whatever O_NONBLOCK says, and Node has no poll():
// a blocking read in this process would hang the stage for good once the host has said all. So a
// small child process (this same node binary, -e) does the blocking reads on an inherited copy of
// the descriptor and pipes the bytes here, where the event loop stays free; answers are written
// here; after a second of silence the child is killed (the signal ends its read) and the device
// closed.
// Every message is sizeof(struct hv_kvp_msg) = 7432 bytes (packed: a 4-byte header
// {u8 operation, u8 pool, u16 pad} and a 7428-byte body union, 4-aligned); a SET body is
// {u32 value_type, u32 key_size, u32 value_size, u8 key[512], u8 value[2048]}, the sizes counting
// the terminating NUL (the driver converts the host's UTF-16 to UTF-8).
// The device path is injectable: tests stand a pseudo-terminal in raw mode in for it, which is
// why bytes are gathered up to a whole message (the real device always transfers whole messages).
//
// The host sends its pairs once per boot, to whoever registers first. Ignition (since 2.16, the
// release that brought the hyperv platform) therefore hands every pool it read to the files stage,
// which writes them where hv_kvp_daemon keeps them, /var/lib/hyperv/.kvp_pool_N (libhvee's
// EncodePoolFile: one 2560-byte record per pair, hv_kvp_daemon's struct kvp_record {key[512],
// value[2048]}, each NUL-padded, in the order received; a pool with no pair is an empty file),
// mode 0600 instead of the daemon's 0644 because pool 0 holds the config. kvpPoolFiles() builds
// those files for the state file (providerOutputFiles); stages/files/provider-files.ts writes them.
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { writeAllSync } from '../system/write-all.js';
import { makeProviderOutputFile, type ProviderOutputFile } from './state.js';

export const KVP_DEVICE = '/dev/vmbus/hv_kvp';
export const KVP_MSG_SIZE = 7432;
export const KVP_OP_SET = 1;
export const KVP_OP_REGISTER1 = 100;
export const KVP_MAX_KEY_SIZE = 512;
export const KVP_MAX_VALUE_SIZE = 2048;
/** hv_kvp_daemon's struct kvp_record: one pair in a pool file. */
export const KVP_RECORD_SIZE = KVP_MAX_KEY_SIZE + KVP_MAX_VALUE_SIZE;
export const KVP_POOL_DIR = '/var/lib/hyperv';
/** The status libhvee answers a message it does not handle with. */
export const HV_E_FAIL = 0x80004005;
const KEY_OFFSET = 16;
const VALUE_OFFSET = KEY_OFFSET + KVP_MAX_KEY_SIZE;
/** The pool Windows hosts write to for Linux guests (KVP_POOL_EXTERNAL). */
export const KVP_DEFAULT_POOL = 0;

export interface KvpPair {
  key: string;
  value: string;
  /** The bytes as the driver delivered them, final NUL cut (what a pool file holds; readKvp sets it). */
  raw?: { key: Buffer; value: Buffer };
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

function field(m: Buffer, offset: number, size: number, max: number): Buffer {
  // The sizes include the final NUL; libhvee cuts it. A size of 0 or beyond the field is refused.
  if (size < 1 || size > max) throw new Error(`malformed KVP message (field size ${size})`);
  return Buffer.from(m.subarray(offset, offset + size - 1)); // a copy: the message buffer is reused
}

// The reader child: blocking reads of fd 0, everything copied to stdout.
const READER = `const fs=require('fs');const b=Buffer.alloc(65536);for(;;){let n;try{n=fs.readSync(0,b,0,b.length,null)}catch(e){if(e.code==='EINTR'||e.code==='EAGAIN')continue;process.stderr.write(e.message);process.exit(1)}if(n===0)process.exit(0);let o=0;while(o<n)o+=fs.writeSync(1,b,o,n-o)}`;

/** Reads every pair the host offers through the KVP device. */
export async function readKvp(o: KvpReadOptions = {}): Promise<KvpPools> {
  const device = o.device ?? KVP_DEVICE;
  const idleMs = o.idleMs ?? 1000;
  const pools: KvpPools = new Map([0, 1, 2, 3, 4].map((p) => [p, []]));
  const fd = openSync(device, constants.O_RDWR | constants.O_NOCTTY);
  try {
    const register = Buffer.alloc(KVP_MSG_SIZE);
    register.writeUInt8(KVP_OP_REGISTER1, 0);
    writeAllSync(fd, register);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', READER], { stdio: [fd, 'pipe', 'pipe'] });
      let pending: Buffer = Buffer.alloc(0);
      let stderr = '';
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        child.kill('SIGKILL');
        if (err) reject(err);
        else if (pending.length) reject(new Error(`${device}: a message ended after ${pending.length} of ${KVP_MSG_SIZE} bytes`));
        else resolve();
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(), idleMs);
      };
      const onAbort = () => finish(new Error(`reading ${device} was aborted`));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      if (o.signal?.aborted) return onAbort();
      child.stdout!.on('data', (d: Buffer) => {
        if (settled) return;
        arm();
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        try {
          while (pending.length >= KVP_MSG_SIZE) {
            const msg = pending.subarray(0, KVP_MSG_SIZE);
            pending = pending.subarray(KVP_MSG_SIZE);
            const op = msg.readUInt8(0);
            if (op === KVP_OP_REGISTER1) continue;
            const answer = Buffer.alloc(KVP_MSG_SIZE); // error = HV_S_OK
            if (op === KVP_OP_SET) {
              const pool = msg.readUInt8(1);
              const key = field(msg, KEY_OFFSET, msg.readUInt32LE(8), KVP_MAX_KEY_SIZE);
              const value = field(msg, VALUE_OFFSET, msg.readUInt32LE(12), KVP_MAX_VALUE_SIZE);
              if (!pools.has(pool)) pools.set(pool, []);
              pools.get(pool)!.push({ key: key.toString('utf8'), value: value.toString('utf8'), raw: { key, value } });
            } else answer.writeUInt32LE(HV_E_FAIL, 0);
            writeAllSync(fd, answer);
          }
        } catch (err) {
          finish(err as Error);
        }
      });
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (err) => finish(new Error(`couldn't start the KVP reader: ${err.message}`)));
      child.on('exit', (code, sig) => {
        if (!settled) finish(code === 0 ? undefined : new Error(`reading ${device}: ${stderr.trim() || `reader ended (${sig ?? code})`}`));
      });
      arm();
    });
    return pools;
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

/** Where hv_kvp_daemon keeps pool N. */
export function kvpPoolPath(pool: number): string {
  return `${KVP_POOL_DIR}/.kvp_pool_${pool}`;
}

/** A pool file as hv_kvp_daemon reads it (libhvee's EncodePoolFile): one NUL-padded record per pair. */
export function encodeKvpPool(pairs: readonly KvpPair[]): Buffer {
  const out = Buffer.alloc(pairs.length * KVP_RECORD_SIZE);
  pairs.forEach((p, i) => {
    const key = p.raw?.key ?? Buffer.from(p.key, 'utf8');
    const value = p.raw?.value ?? Buffer.from(p.value, 'utf8');
    // Longer fields are cut, as Go's copy() into the fixed arrays cuts them.
    key.copy(out, i * KVP_RECORD_SIZE, 0, Math.min(key.length, KVP_MAX_KEY_SIZE));
    value.copy(out, i * KVP_RECORD_SIZE + KVP_MAX_KEY_SIZE, 0, Math.min(value.length, KVP_MAX_VALUE_SIZE));
  });
  return out;
}

/**
 * The files the hyperv provider hands to the files stage, as Ignition's does: one per pool read
 * (0..4 always, plus any other pool the host used), mode 0600, overwrite, in pool order.
 */
export function kvpPoolFiles(pools: KvpPools): ProviderOutputFile[] {
  return [...pools.keys()].sort((a, b) => a - b).map((pool) => makeProviderOutputFile(kvpPoolPath(pool), 0o600, encodeKvpPool(pools.get(pool)!)));
}
