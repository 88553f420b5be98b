// Small pieces: the kernel command line, Go durations, user-data classification, the state file,
// the kargs stage's plan and apply.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oemIdToPlatform, parseCmdline, platformFromCmdline } from '../../src/acquire/cmdline.js';
import { parseGoDuration } from '../../src/acquire/duration.js';
import { DEFAULT_FETCH_TIMEOUT_MS, IGNITION_DEFAULTS } from '../../src/cli/ignition.js';
import { classifyUserData } from '../../src/acquire/userdata.js';
import { emptyState, loadState, recordFetched, saveState, serializeState } from '../../src/acquire/state.js';
import { urlPathForState } from '../../src/acquire/render.js';
import { endpoint } from '../../src/acquire/env.js';
import { kargsStage } from '../../stages/kargs.js';
import type { StageContext } from '../../stages/types.js';
import { quietLog, scratch, testEnv } from '../providers/helpers.js';

describe('kernel command line', () => {
  it('reads the config URL keys in Ignition/Flatcar order, last occurrence wins, empty ignored', () => {
    expect(parseCmdline('coreos.config.url=http://c flatcar.config.url=http://f').configUrl).toBe('http://f');
    expect(parseCmdline('flatcar.config.url=http://f ignition.config.url=http://a ignition.config.url=http://b').configUrl).toBe('http://b');
    expect(parseCmdline('ignition.config.url= quiet').configUrl).toBeUndefined();
    const f = parseCmdline('  ignition.config.device=CFG\tignition.config.path=/x.ign\n');
    expect([f.configDevice, f.configPath]).toEqual(['CFG', '/x.ign']);
  });
  it('maps Flatcar OEM ids to platforms as ignition-setup-pre.sh does; ignition.platform.id wins', () => {
    expect(oemIdToPlatform('ec2')).toBe('aws');
    expect(oemIdToPlatform('gce')).toBe('gcp');
    expect(oemIdToPlatform('pxe')).toBe('metal');
    expect(oemIdToPlatform('azure')).toBe('azure');
    expect(platformFromCmdline(parseCmdline('flatcar.oem.id=ec2'))).toBe('aws');
    expect(platformFromCmdline(parseCmdline('coreos.oem.id=gce'))).toBe('gcp');
    expect(platformFromCmdline(parseCmdline('flatcar.oem.id=ec2 ignition.platform.id=qemu'))).toBe('qemu');
    expect(platformFromCmdline(parseCmdline('quiet'))).toBeUndefined();
  });
  it('first boot: flatcar.first_boot / coreos.first_boot unless empty, 0, no, off; ignition.firstboot', () => {
    expect(parseCmdline('flatcar.first_boot=detected').firstBoot).toBe(true);
    expect(parseCmdline('flatcar.first_boot=detected').firstBootValue).toBe('detected');
    expect(parseCmdline('coreos.first_boot=1').firstBoot).toBe(true);
    for (const v of ['0', 'no', 'off', '']) expect(parseCmdline(`flatcar.first_boot=${v}`).firstBoot).toBe(false);
    expect(parseCmdline('ignition.firstboot').firstBoot).toBe(true);
    expect(parseCmdline('quiet').firstBoot).toBe(false);
  });
});

describe('Go durations (-fetch-timeout)', () => {
  it('parses what Go parses and refuses what it refuses', () => {
    expect(parseGoDuration('2m0s')).toBe(120_000);
    // The CLI uses the default without parsing it: the two must agree.
    expect(parseGoDuration(IGNITION_DEFAULTS.fetchTimeout)).toBe(DEFAULT_FETCH_TIMEOUT_MS);
    expect(parseGoDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('0')).toBe(0);
    for (const bad of ['5', '', 'm', '1x', '1s2']) expect(() => parseGoDuration(bad)).toThrow(/parse error/);
  });
});

describe('user data', () => {
  it('tells configs from cloud-configs, scripts and nothing', () => {
    expect(classifyUserData(Buffer.from('{"ignition":{}}'))).toBe('config');
    expect(classifyUserData(Buffer.from('#cloud-config\nusers: []'))).toBe('cloud-config');
    expect(classifyUserData(Buffer.from('#cloud-config'))).toBe('cloud-config');
    expect(classifyUserData(Buffer.from('#!/bin/bash\n'))).toBe('script');
    expect(classifyUserData(Buffer.from('#!/usr/bin/env python3\n'))).toBe('script');
    expect(classifyUserData(Buffer.from(' \n'))).toBe('empty');
    expect(classifyUserData(null)).toBe('empty');
    // Not a cloud-config: let the parser report it.
    expect(classifyUserData(Buffer.from('#cloud-configuration'))).toBe('config');
  });
});

describe('state file', () => {
  it('round-trips, keeps unknown keys, writes 0600 with a final newline', () => {
    const dir = scratch();
    const p = join(dir, 'run/ignition/state');
    expect(loadState(p)).toEqual(emptyState());
    const s = emptyState();
    recordFetched(s, { kind: 'base', source: 'system', referenced: false });
    s.providerOutputFiles = [{ path: '/x' }];
    saveState(p, s);
    const text = readFileSync(p, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{"fetchedConfigs":[{"kind":"base","source":"system","referenced":false}],"luksPersistKeyFiles":null,"notatedDirectories":null')).toBe(true);
    expect(loadState(p).providerOutputFiles).toEqual([{ path: '/x' }]);
    expect(serializeState(emptyState())).toBe('{"fetchedConfigs":null,"luksPersistKeyFiles":null,"notatedDirectories":null}\n');
  });
  it('records referenced configs by URL path, as Go url.Parse(...).Path', () => {
    expect(urlPathForState('http://h:1/a/b.ign?x=1')).toBe('/a/b.ign');
    expect(urlPathForState('data:,{}')).toBe('');
    expect(urlPathForState('s3://bucket/key.ign')).toBe('/key.ign');
  });
  it('redirects metadata URLs to an injected base, keeping path and query', () => {
    const env = testEnv(scratch(), { metadataBase: 'http://127.0.0.1:9' });
    expect(endpoint(env, 'https://metadata.packet.net/userdata?x=1')).toBe('http://127.0.0.1:9/userdata?x=1');
  });
});

describe('kargs stage', () => {
  function ctx(dir: string, kernelArguments: object, helper?: string): StageContext {
    writeFileSync(join(dir, 'cmdline'), 'console=ttyS0 quiet nomodeset');
    return {
      config: { ignition: { version: '3.6.0' }, kernelArguments },
      root: dir,
      platform: 'metal',
      log: quietLog,
      configCache: '',
      stateFile: '',
      needNetFile: '',
      fetchTimeoutMs: 1000,
      options: { kargsHelper: helper ?? join(dir, 'no-such-helper'), cmdlinePath: join(dir, 'cmdline') },
    };
  }
  it('plans one op per argument, naming its config entry and what the running kernel has', async () => {
    const dir = scratch();
    const plan = await kargsStage.plan(ctx(dir, { shouldExist: ['quiet', 'mitigations=off'], shouldNotExist: ['nomodeset'] }));
    expect(plan.ops.map((o) => [o.kind, o.pointer, o.details.presentNow])).toEqual([
      ['karg.ensure', '/kernelArguments/shouldExist/0', true],
      ['karg.ensure', '/kernelArguments/shouldExist/1', false],
      ['karg.remove', '/kernelArguments/shouldNotExist/0', true],
    ]);
    expect(plan.warnings.join()).toMatch(/ignition-kargs-helper is not installed/);
  });
  it('does nothing without kernel arguments; fails clearly when changes are needed and there is no helper', async () => {
    const dir = scratch();
    const empty = ctx(dir, {});
    await kargsStage.apply(empty, await kargsStage.plan(empty));
    const c = ctx(dir, { shouldExist: ['x=1'] });
    await expect(kargsStage.apply(c, await kargsStage.plan(c))).rejects.toThrow(/ignition-kargs-helper was not found/);
  });
  it('calls the helper with --should-exist / --should-not-exist, and reports its failure', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'bin'));
    const helper = join(dir, 'bin', 'helper');
    writeFileSync(helper, `#!/bin/sh\necho "$@" > ${join(dir, 'args')}\n[ "$2" != fail ]\n`);
    chmodSync(helper, 0o755);
    const c = ctx(dir, { shouldExist: ['a=1'], shouldNotExist: ['b'] }, helper);
    await kargsStage.apply(c, await kargsStage.plan(c));
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('--should-exist a=1 --should-not-exist b\n');
    const bad = ctx(dir, { shouldExist: ['fail'] }, helper);
    await expect(kargsStage.apply(bad, await kargsStage.plan(bad))).rejects.toThrow(/failed adding kernel arguments/);
  });
});
