// VirtualBox (Ignition's "virtualbox"): the config is the guest property /Ignition/Config, set on
// the host with `VBoxManage guestproperty set VM /Ignition/Config "$(cat config.ign)"`. As in
// Ignition's provider:
//  - /Ignition/Config/Encoding is read first; any non-empty value fails (no encoding is defined
//    yet; the property is there for forward compatibility, like vmware's .encoding);
//  - a missing /Ignition/Config is "no config" (logged), not an error;
//  - the value is the property's bytes up to its NUL (the host returns "value\0flags\0");
//    nothing is decoded or decompressed;
//  - no /dev/vboxguest, or any driver or host error, fails the stage.
// Guest properties are read through the vboxguest driver's HGCM ioctls, whose parameters point
// into the caller's memory: Node cannot issue them, so a small C helper does (native/kindling-vbox.c,
// built by scripts/build-native.sh, installed by the dracut module as /usr/lib/kindling/kindling-vbox).
// Each property is one run of the helper: open, version, connect, GET_PROP (repeated with the size
// the host asks for on VERR_BUFFER_OVERFLOW), disconnect, close, as each of Ignition's reads does.
// Deleting them after provisioning (Ignition's ignition-rmcfg) is `kindling rmcfg --platform
// virtualbox` (src/cli/rmcfg.ts), through deleteGuestProperty below and `kindling-vbox delete NAME`.
//
// Knobs: KINDLING_VBOXGUEST_DEVICE (default /dev/vboxguest), KINDLING_VBOX_HELPER (the helper's
// path; default: kindling-vbox next to the running bundle, then /usr/lib/kindling/kindling-vbox,
// then PATH).
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KindlingError } from '../../errors.js';
import type { Provider, ProviderContext } from './types.js';

export const CONFIG_PROPERTY = '/Ignition/Config';
export const ENCODING_PROPERTY = '/Ignition/Config/Encoding';

/** kindling-vbox's exit statuses (native/kindling-vbox.c). */
const FOUND = 0;
const NOT_SET = 1;
const NO_DEVICE = 2;

/** Where the helper is: an explicit path, next to the bundle, the initramfs's place, else PATH. */
export function helperPath(vars: NodeJS.ProcessEnv): string {
  if (vars.KINDLING_VBOX_HELPER) return vars.KINDLING_VBOX_HELPER;
  const candidates: string[] = [];
  const script = process.argv[1];
  if (script) {
    try {
      candidates.push(join(dirname(realpathSync(script)), 'kindling-vbox'));
    } catch {
      // the script path is not a file (node -e): skip it
    }
  }
  if (vars.KINDLING_BUNDLE) candidates.push(join(dirname(vars.KINDLING_BUNDLE), 'kindling-vbox'));
  candidates.push('/usr/lib/kindling/kindling-vbox');
  return candidates.find((c) => existsSync(c)) ?? 'kindling-vbox';
}

interface HelperOutcome {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** Why it could not run (spawn error), if so. */
  spawnError?: NodeJS.ErrnoException;
}

function runHelper(helper: string, args: string[], signal: AbortSignal): Promise<HelperOutcome> {
  return import(/* webpackMode: "eager" */ 'node:child_process').then(
    ({ spawn }) =>
      new Promise<HelperOutcome>((resolve) => {
        // stdin is a pipe closed at once, not 'ignore': that would need /dev/null, which a bare
        // root (a chroot into an unpacked initramfs) may not have.
        const child = spawn(helper, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
        child.stdin.on('error', () => {});
        child.stdin.end();
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let spawnError: NodeJS.ErrnoException | undefined;
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => err.push(c));
        child.on('error', (e) => {
          spawnError ??= e as NodeJS.ErrnoException;
        });
        child.on('close', (code) => {
          resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8').trim(), spawnError });
        });
      }),
  );
}

/**
 * One guest property: its value, or null when the host has no such property. Throws a
 * KindlingError naming the property for everything else (no device, no helper, driver or host
 * errors), as Ignition's fetchProperty does.
 */
export async function readGuestProperty(ctx: ProviderContext, name: string): Promise<Buffer | null> {
  const vars = ctx.env.vars;
  const device = vars.KINDLING_VBOXGUEST_DEVICE || '/dev/vboxguest';
  const helper = helperPath(vars);
  const what = `fetching VirtualBox guest property "${name}"`;
  const r = await runHelper(helper, ['-d', device, 'get', name], ctx.signal);
  if (r.spawnError) {
    if (r.spawnError.name === 'AbortError') throw new KindlingError('platform', `${what}: gave up at the fetch timeout`);
    if (r.spawnError.code === 'ENOENT')
      throw new KindlingError('platform', `${what}: the helper ${helper} is not installed (scripts/build-native.sh builds it)`);
    throw new KindlingError('platform', `${what}: cannot run ${helper}: ${r.spawnError.message}`);
  }
  const why = r.stderr.replace(/^kindling-vbox: /, '') || `${helper} exited ${r.code}`;
  switch (r.code) {
    case FOUND:
      return r.stdout;
    case NOT_SET:
      return null;
    case NO_DEVICE:
      throw new KindlingError('platform', `${what}: ${why} (not a VirtualBox guest, or the vboxguest driver is not loaded)`);
    default:
      throw new KindlingError('platform', `${what}: ${why}`);
  }
}

/**
 * Deletes one guest property (the host's DEL_PROP: a property that does not exist is no error).
 * Throws a KindlingError naming the property for everything else, as Ignition's deleteProperty.
 */
export async function deleteGuestProperty(vars: NodeJS.ProcessEnv, name: string, signal: AbortSignal): Promise<void> {
  const device = vars.KINDLING_VBOXGUEST_DEVICE || '/dev/vboxguest';
  const helper = helperPath(vars);
  const what = `deleting VirtualBox guest property "${name}"`;
  const r = await runHelper(helper, ['-d', device, 'delete', name], signal);
  if (r.spawnError) {
    if (r.spawnError.name === 'AbortError') throw new KindlingError('platform', `${what}: gave up at the timeout`);
    if (r.spawnError.code === 'ENOENT')
      throw new KindlingError('platform', `${what}: the helper ${helper} is not installed (scripts/build-native.sh builds it)`);
    throw new KindlingError('platform', `${what}: cannot run ${helper}: ${r.spawnError.message}`);
  }
  if (r.code === FOUND) return;
  // The helper's line, without its name and without a second "deleting NAME: ".
  const why = r.stderr.replace(/^kindling-vbox: /, '').replace(`deleting ${name}: `, '') || `${helper} exited ${r.code}`;
  if (r.code === NO_DEVICE) throw new KindlingError('platform', `${what}: ${why} (not a VirtualBox guest, or the vboxguest driver is not loaded)`);
  throw new KindlingError('platform', `${what}: ${why}`);
}

export const virtualbox: Provider = {
  name: 'virtualbox',
  source: `VirtualBox guest property ${CONFIG_PROPERTY} (through /dev/vboxguest)`,
  network: false,
  async fetch(ctx) {
    ctx.env.log.debug('reading Ignition config from VirtualBox guest property');
    const encoding = await readGuestProperty(ctx, ENCODING_PROPERTY);
    if (encoding !== null && encoding.length > 0) {
      throw new KindlingError('platform', `unsupported "${ENCODING_PROPERTY}" value ${JSON.stringify(encoding.toString('utf8'))}`);
    }
    const config = await readGuestProperty(ctx, CONFIG_PROPERTY);
    if (config === null) {
      ctx.env.log.info(`VirtualBox guest property "${CONFIG_PROPERTY}" does not exist; assuming no config`);
      return null;
    }
    return config;
  },
};
