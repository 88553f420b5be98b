// Microsoft Hyper-V (Ignition's "hyperv"): the config comes through the KVP data exchange, as in
// Ignition's provider (which uses libhvee): `modprobe hv_utils` (a failure is fatal there too),
// then every pair the host pushed is read from /dev/vmbus/hv_kvp (src/acquire/kvp.ts); pool 0's
// "ignition.config" is the config, else "ignition.config.0", ".1", ... concatenated (values are at
// most 2047 bytes, so hosts split bigger configs). Neither = no config.
// Like Ignition's FetchWithFiles, every pool read is also handed to the files stage through the
// state file (providerOutputFiles), config or not: the host does not send the pairs again this
// boot, so the files stage writes them as /var/lib/hyperv/.kvp_pool_N (mode 0600) for the booted
// system's hv_kvp_daemon. Values never reach a log (pool 0 holds the config).
import { KindlingError } from '../../errors.js';
import { run } from '../../system/exec.js';
import { ignitionConfigFromKvp, kvpPoolFiles, readKvp } from '../kvp.js';
import type { Provider } from './types.js';

export const hyperv: Provider = {
  name: 'hyperv',
  source: 'Hyper-V KVP exchange (/dev/vmbus/hv_kvp): ignition.config, or ignition.config.0, .1, ... in pool 0',
  network: false,
  async fetch(ctx) {
    if (ctx.env.modprobe) {
      const r = await run('modprobe', ['hv_utils'], { allowFailure: true, timeout: 30_000 });
      if (r.exitCode !== 0) throw new KindlingError('platform', `loading hv_utils kernel module: ${r.stderr.trim() || `modprobe exited ${r.exitCode}`}`);
    }
    let pools;
    try {
      pools = await readKvp({ device: ctx.env.kvpDevice, signal: ctx.signal });
    } catch (err) {
      throw new KindlingError('platform', `reading key-value pairs: ${(err as Error).message}`, { cause: err });
    }
    if (ctx.state) {
      ctx.state.providerOutputFiles = kvpPoolFiles(pools);
      const counts = [...pools.keys()].sort((a, b) => a - b).map((p) => `${p}: ${pools.get(p)!.length}`);
      ctx.env.log.info(`KVP pairs by pool (${counts.join(', ')}) kept for the files stage: /var/lib/hyperv/.kvp_pool_N, mode 0600`);
    }
    const got = ignitionConfigFromKvp(pools);
    if (got.how === 'split') ctx.env.log.info(`found the config in ${got.parts} KVP keys ignition.config.N`);
    else if (got.how === 'single') ctx.env.log.info('found the config in the KVP key ignition.config');
    else ctx.env.log.info('no ignition.config KVP key from the host');
    return got.how === 'none' ? null : Buffer.from(got.config, 'utf8');
  },
};
