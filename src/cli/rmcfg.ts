// `kindling rmcfg --platform P`, and the same program under Ignition's name: a link or copy named
// ignition-rmcfg runs this with Ignition's flags unchanged (`ignition-rmcfg --platform=vmware`,
// what ignition-delete-config.service runs on the first boot of the real root). It removes the
// config from the platforms where any process in the guest could read it back later:
//   - virtualbox: deletes the guest properties /Ignition/Config/Encoding, then /Ignition/Config
//     (a property that does not exist is no error: the host's DEL_PROP says so);
//   - vmware: guest code can neither delete a guestinfo variable nor set it to "", so, as Ignition,
//     guestinfo.ignition.config.data becomes "e30K" (base64 of "{}\n") and .encoding "base64"
//     (left alone when the data already is that marker, or unset); and the two keys are removed
//     from the OVF environment (guestinfo.ovfEnv) when it has them.
// Any other platform: "cannot delete config on this platform", exit 1, as Ignition.
//
// Flags as Ignition's (spf13/pflag): --platform P | --platform=P, --log-to-stdout, --version,
// -h/--help; plus --dry-run (Kindling's: read, print the plan, change nothing). Exit status as
// Ignition: 0 done, 1 could not delete, 2 bad usage (no --platform, an unknown platform name,
// an argument that is not a flag). Like every stage: reads first, a plan (plain data, no values),
// then the writes; the config's contents never reach a log.
import { formatError, KindlingError } from '../errors.js';
import { createLogger, setLogger, stderrIsTTY, type Logger } from '../log/logger.js';
import { KINDLING_VERSION } from '../version.js';
import { writeAllSync } from '../system/write-all.js';

/** What Ignition writes over guestinfo.ignition.config.data: base64 of "{}\n". */
export const VMWARE_DELETED_DATA = 'e30K';
export const VMWARE_DELETED_ENCODING = 'base64';
const DATA_KEY = 'ignition.config.data';
const ENCODING_KEY = 'ignition.config.data.encoding';
const OVF_KEY = 'ovfenv';

export type RmcfgOp =
  | { kind: 'vbox-delete'; property: string; summary: string }
  | { kind: 'guestinfo-set'; key: string; summary: string; value: string };

export interface RmcfgPlan {
  platform: string;
  ops: RmcfgOp[];
  /** Log lines Ignition writes before the operations they announce (index into ops). */
  notes: Array<{ before: number; message: string }>;
}

const HELP = `Usage: ignition-rmcfg [options]   (also: kindling rmcfg [options])
Options:
      --dry-run           read the platform, print what would change, change nothing (Kindling's)
      --log-to-stdout     log to stdout instead of the system log
      --platform string   current platform. [virtualbox vmware] delete the config; any other fails
      --version           print the version and exit
`;

interface Parsed {
  platform?: string;
  logToStdout: boolean;
  version: boolean;
  help: boolean;
  dryRun: boolean;
}

/** pflag's syntax: --name, --name=value, --name value; -h; no single-dash long names; "--" ends flags. */
export function parseRmcfgArgs(argv: readonly string[]): Parsed {
  const out: Parsed = { logToStdout: false, version: false, help: false, dryRun: false };
  const booleans: Record<string, keyof Parsed> = { 'log-to-stdout': 'logToStdout', version: 'version', help: 'help', 'dry-run': 'dryRun' };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      const inline = eq === -1 ? undefined : body.slice(eq + 1);
      if (name === 'platform') {
        if (inline !== undefined) out.platform = inline;
        else if (i + 1 < argv.length) out.platform = argv[++i];
        else throw new KindlingError('usage', 'flag needs an argument: --platform');
      } else if (Object.hasOwn(booleans, name)) {
        const v = inline === undefined ? true : ['true', '1', 't', 'T', 'TRUE', 'True'].includes(inline) ? true : ['false', '0', 'f', 'F', 'FALSE', 'False'].includes(inline) ? false : undefined;
        if (v === undefined) throw new KindlingError('usage', `invalid argument "${inline}" for "--${name}" flag: parse error`);
        (out as unknown as Record<string, boolean>)[booleans[name]!] = v;
      } else {
        throw new KindlingError('usage', `unknown flag: --${name}`);
      }
    } else if (arg.startsWith('-') && arg !== '-') {
      // Single-dash: shorthand letters. Only -h exists.
      if (arg === '-h') out.help = true;
      else throw new KindlingError('usage', `unknown shorthand flag: '${arg[1]}' in ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length && !out.help) throw new KindlingError('usage', `unexpected argument "${positional[0]}"`);
  return out;
}

// ---- VMware: guestinfo through open-vm-tools' vmware-rpctool ----

/** One RPC: stdout (its final newline removed) on success; null for "No value found". */
async function rpc(command: string, secret: boolean): Promise<string | null> {
  const { run } = await import(/* webpackMode: "eager" */ '../system/exec.js');
  let r;
  try {
    r = await run('vmware-rpctool', [command], { allowFailure: true, timeout: 30_000, secretArgs: secret ? [0] : [] });
  } catch (err) {
    throw new KindlingError('platform', `vmware-rpctool: ${formatError(err)}`);
  }
  if (r.exitCode === 0) return r.stdout;
  const said = (r.stderr || r.stdout).trim();
  if (r.exitCode === 1 && /^no value found/i.test(said)) return null;
  if (r.exitCode === -1) throw new KindlingError('platform', 'vmware-rpctool is not installed (open-vm-tools), so guestinfo cannot be reached');
  if (/failed sending message to vmware/i.test(said)) throw new KindlingError('platform', 'not running under VMware (vmware-rpctool: Failed sending message to VMware)');
  // Never quote the reply of a command that carried a value: it could echo it.
  throw new KindlingError('platform', `vmware-rpctool exited ${r.exitCode}${said && !secret ? `: ${said.split('\n')[0]}` : ''}`);
}

async function planVmware(): Promise<RmcfgPlan> {
  const { deleteOvfProperties, ovfProperties } = await import(/* webpackMode: "eager" */ '../acquire/providers/vmware.js');
  const plan: RmcfgPlan = { platform: 'vmware', ops: [], notes: [] };
  const get = async (key: string, what: string): Promise<string | null> => {
    try {
      return await rpc(`info-get guestinfo.${key}`, false);
    } catch (err) {
      throw new KindlingError('platform', `${what}: ${formatError(err)}`);
    }
  };
  // As Ignition: an unset data key reads as the marker (nothing to replace).
  const data = (await get(DATA_KEY, 'getting config property')) ?? VMWARE_DELETED_DATA;
  if (data !== VMWARE_DELETED_DATA) {
    plan.notes.push({ before: plan.ops.length, message: 'deleting config from guestinfo properties' });
    plan.ops.push({ kind: 'guestinfo-set', key: DATA_KEY, value: VMWARE_DELETED_DATA, summary: `set guestinfo.${DATA_KEY} to "${VMWARE_DELETED_DATA}" (base64 of "{}")` });
    const encoding = (await get(ENCODING_KEY, 'getting config encoding property')) ?? '';
    if (encoding !== VMWARE_DELETED_ENCODING) {
      plan.ops.push({ kind: 'guestinfo-set', key: ENCODING_KEY, value: VMWARE_DELETED_ENCODING, summary: `set guestinfo.${ENCODING_KEY} to "${VMWARE_DELETED_ENCODING}"` });
    }
  }
  // Unlike the fetch, a failure to read the OVF environment is an error here: ignoring it could
  // leave the config readable.
  const ovf = (await get(OVF_KEY, 'reading OVF environment')) ?? '';
  if (ovf !== '') {
    const drop = [`guestinfo.${DATA_KEY}`, `guestinfo.${ENCODING_KEY}`];
    const pruned = deleteOvfProperties(ovf, drop);
    const left = Object.keys(ovfProperties(pruned.xml)).filter((k) => drop.includes(k));
    if (left.length) throw new KindlingError('platform', `deleting OVF properties: ${left.join(', ')} could not be removed from the OVF environment (malformed document?)`);
    if (pruned.removed) {
      plan.notes.push({ before: plan.ops.length, message: 'deleting config from OVF environment' });
      plan.ops.push({ kind: 'guestinfo-set', key: OVF_KEY, value: pruned.xml, summary: `set guestinfo.${OVF_KEY} to the OVF environment without ${drop.join(' and ')}` });
    }
  }
  return plan;
}

async function applyVmwareOp(op: Extract<RmcfgOp, { kind: 'guestinfo-set' }>): Promise<void> {
  const what = op.key === DATA_KEY ? 'replacing config' : op.key === ENCODING_KEY ? 'replacing config encoding' : 'replacing OVF environment';
  try {
    // The OVF environment may hold other vApp properties (passwords): its command stays out of logs.
    await rpc(`info-set guestinfo.${op.key} ${op.value}`, op.key === OVF_KEY);
  } catch (err) {
    throw new KindlingError('platform', `${what}: ${formatError(err)}`);
  }
}

// ---- VirtualBox: guest properties through kindling-vbox ----

function planVirtualbox(): RmcfgPlan {
  // Ignition deletes without reading first; the host treats a missing property as deleted.
  return {
    platform: 'virtualbox',
    notes: [{ before: 0, message: 'deleting Ignition config from VirtualBox guest property' }],
    ops: ['/Ignition/Config/Encoding', '/Ignition/Config'].map((property) => ({ kind: 'vbox-delete' as const, property, summary: `delete VirtualBox guest property ${property}` })),
  };
}

/** Reads the platform and says what would change; nothing is written. */
export async function planRmcfg(platform: string): Promise<RmcfgPlan> {
  if (platform === 'vmware') return planVmware();
  if (platform === 'virtualbox') return planVirtualbox();
  throw new KindlingError('platform', 'cannot delete config on this platform');
}

export async function applyRmcfg(plan: RmcfgPlan, log: Logger, vars: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const [i, op] of plan.ops.entries()) {
    for (const n of plan.notes) if (n.before === i) log.info(n.message);
    if (op.kind === 'guestinfo-set') await applyVmwareOp(op);
    else {
      const { deleteGuestProperty } = await import(/* webpackMode: "eager" */ '../acquire/providers/virtualbox.js');
      await deleteGuestProperty(vars, op.property, AbortSignal.timeout(60_000));
    }
    log.debug(`done: ${op.summary}`);
  }
}

export async function runRmcfg(argv: string[]): Promise<number> {
  let args: Parsed;
  try {
    args = parseRmcfgArgs(argv);
  } catch (err) {
    writeAllSync(2, `${formatError(err)}\n${HELP}`);
    return 2;
  }
  if (args.help) {
    writeAllSync(1, HELP);
    return 0;
  }
  if (args.version) {
    writeAllSync(1, `Kindling ${KINDLING_VERSION} (Ignition-compatible)\n`);
    return 0;
  }
  if (!args.platform) {
    writeAllSync(2, "'--platform' must be provided\n");
    return 2;
  }
  const { isProviderName } = await import(/* webpackMode: "eager" */ '../acquire/providers/index.js');
  if (!isProviderName(args.platform)) {
    writeAllSync(2, `invalid platform name "${args.platform}" provided\n`);
    return 2;
  }
  const log = createLogger({ toStdout: args.logToStdout });
  setLogger(log);
  log.info(`Kindling ${KINDLING_VERSION} (Ignition-compatible)`);
  try {
    const plan = await planRmcfg(args.platform);
    log.info(`plan: ${plan.ops.length} operation${plan.ops.length === 1 ? '' : 's'}`);
    for (const op of plan.ops) log.info(`plan: ${op.summary}`);
    if (args.dryRun) {
      log.info('dry run: nothing changed');
      return 0;
    }
    await applyRmcfg(plan, log);
  } catch (err) {
    log.fatal(`couldn't delete config: ${formatError(err)}`);
    if (!args.logToStdout && !stderrIsTTY()) writeAllSync(2, `kindling: couldn't delete config (platform ${args.platform}): ${formatError(err)}\n`);
    return 1;
  }
  log.info('Successfully deleted config');
  return 0;
}
