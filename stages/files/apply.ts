// Carries out a files plan, operation by operation, in its order. Each operation is logged as
// Ignition logs it ("op(N): [started] ...", "[finished]"/"[failed]"), and the first failure stops
// the stage. Remote contents are fetched ahead (bounded), everything else happens in plan order.
import { KindlingError } from '../../src/errors.js';
import { stopHashWorker } from '../../src/resources/index.js';
import { Prefetcher } from './content.js';
import type { StageContextConfig } from './context.js';
import { applyDirectory, applyFile, applyLink, remoteResources } from './nodes.js';
import { applyResult } from './result.js';
import type { FilesOp, FilesPlan } from './types.js';
import { applyUnitOp } from './units.js';
import { applyHomeMountpoints, applyPasswdTool, applySshKeys } from './users.js';

async function applyOne(cfg: StageContextConfig, op: FilesOp, prefetch: Prefetcher): Promise<void> {
  switch (op.kind) {
    case 'group.add':
    case 'group.delete':
    case 'user.add':
    case 'user.modify':
    case 'user.delete':
    case 'user.password':
      return applyPasswdTool(cfg, op);
    case 'group.keep':
    case 'user.absent':
      return;
    case 'user.ssh-keys':
      return applySshKeys(cfg, op);
    case 'user.home-mountpoints':
      return applyHomeMountpoints(cfg, op);
    case 'directory.create':
      return applyDirectory(cfg, op);
    case 'file.write':
      return applyFile(cfg, op, prefetch);
    case 'link.create':
      return applyLink(cfg, op);
    case 'unit.dropin':
    case 'unit.write':
    case 'unit.mask':
    case 'unit.unmask':
    case 'unit.preset':
      return applyUnitOp(cfg, op);
    case 'result.write':
      return applyResult(cfg, op);
    default:
      throw new KindlingError('files', `internal error: unknown operation ${(op as FilesOp).kind}`);
  }
}

export async function applyPlan(cfg: StageContextConfig, plan: FilesPlan): Promise<void> {
  const prefetch = new Prefetcher(cfg);
  const log = cfg.log;
  try {
    for (const [key, res] of remoteResources(cfg, plan.ops)) prefetch.start(key, res);
    let n = 0;
    for (const op of plan.ops) {
      const id = (++n).toString(16);
      log.info(`op(${id}): [started]  ${op.summary}`);
      try {
        await applyOne(cfg, op, prefetch);
      } catch (err) {
        log.error(`op(${id}): [failed]   ${op.summary}: ${(err as Error).message}`);
        throw err instanceof KindlingError ? err : new KindlingError('files', `${op.summary}: ${(err as Error).message}`, { location: { pointer: op.pointer }, cause: err });
      }
      log.info(`op(${id}): [finished] ${op.summary}`);
    }
    for (const line of cfg.unprivilegedReport) log.warn(`not applied (unprivileged): ${line}`);
  } finally {
    await prefetch.close();
    await cfg.asUser?.close();
    // The thread hashing large remote bodies (src/resources/hash-worker.ts) ends with the stage.
    await stopHashWorker();
  }
}
