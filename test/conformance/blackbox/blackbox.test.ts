// End-to-end replay of Ignition's blackbox corpus (189 cases) against an Ignition-compatible binary
// on real loop devices. See docs/conformance.md. Needs root; skipped (with the reason) otherwise.
//
//   BLACKBOX_BIN=/tmp/bb/kindling BLACKBOX_FILTER='^files\.create' npx vitest run test/conformance/blackbox
//
// Every run's verdict is asserted: a case passes, or fails and is listed (with its reason) in the
// known-failures file; a listed case that passes fails the test too, so that the list stays true
// (BLACKBOX_ALLOW_XPASS=1 only warns). BLACKBOX_WRITE_KNOWN_FAILURES=1 rewrites the list from the
// run's results; BLACKBOX_REPORT=FILE writes every result as JSON.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCorpus, REPO_ROOT } from './corpus.js';
import { startServers, type Fixtures } from './fixtures.js';
import { startSystemdShim, type SystemdShim } from './systemd-shim.js';
import { makeStubDir, runCase, type CaseResult } from './runner.js';
import { detectTarget, knownFailure, loadKnownFailures, planRuns, type KnownFailures, type PlannedRun, type Target } from './select.js';

const bin = process.env.BLACKBOX_BIN || join(REPO_ROOT, 'dist', 'kindling');
const isRoot = process.getuid?.() === 0;
const haveLoop = existsSync('/dev/loop-control');
const concurrency = Math.max(1, Math.min(2, Number(process.env.BLACKBOX_CONCURRENCY || 2)));
const corpus = loadCorpus();
const dupNames = new Set(corpus.cases.filter((c, i) => corpus.cases.findIndex((d) => d.name === c.name) !== i).map((c) => c.name));

const skipAll = !isRoot ? 'needs root (loop devices, mounts)' : !haveLoop ? 'needs loop devices (/dev/loop-control)' : !existsSync(bin) ? `no binary at ${bin} (build it: node scripts/build.mjs)` : '';

describe.skipIf(!!skipAll)(`Ignition blackbox corpus replay${skipAll ? ` (skipped: ${skipAll})` : ''}`, () => {
  let target: Target;
  let known: KnownFailures;
  let fixtures: Fixtures | undefined;
  let shim: SystemdShim | undefined;
  let stubRoot: string | undefined;
  const results = new Map<string, CaseResult>();
  const pending = new Map<string, Promise<CaseResult>>();
  // Planned synchronously from the corpus so that vitest can list one test per run; the binary's
  // accepted versions are known only in beforeAll, so runs it can't take are marked there.
  let plan: { runs: PlannedRun[] } = { runs: [] };

  beforeAll(async () => {
    target = await detectTarget(bin);
    known = loadKnownFailures(target.knownFailuresFile);
    fixtures = await startServers(corpus);
    // The oracle waits for devices through systemd's D-Bus; answer it as udev+systemd would.
    if (target.isIgnition && !process.env.BLACKBOX_NO_SYSTEMD_SHIM) shim = await startSystemdShim();
    stubRoot = mkdtempSync('/tmp/bb-stubs-');
    const stubDir = makeStubDir(join(stubRoot, 'bin'));
    plan = planRuns(corpus.cases, target);
    process.stderr.write(`blackbox: ${target.versionText} (${bin}); ${plan.runs.length} runs, concurrency ${concurrency}; expected failures from ${target.knownFailuresFile}\n`);
    // CI must stay within 10 minutes: past the budget, remaining runs are reported (as errors),
    // not run. Default 540 s for the CI selection, none for the longer selections.
    const budgetS = Number(process.env.BLACKBOX_BUDGET_S ?? ((process.env.BLACKBOX_VERSIONS || 'ci') === 'ci' ? 540 : 0));
    const startedAt = Date.now();
    // A small pool: each test awaits its own run's promise.
    const queue = [...plan.runs];
    const workers: Promise<void>[] = [];
    const deferred = new Map<string, (r: CaseResult) => void>();
    for (const r of plan.runs) pending.set(r.id, new Promise<CaseResult>((resolve) => deferred.set(r.id, resolve)));
    for (let w = 0; w < concurrency; w++) {
      workers.push(
        (async () => {
          for (let next = queue.shift(); next; next = queue.shift()) {
            const overBudget = budgetS > 0 && Date.now() - startedAt > budgetS * 1000;
            const res: CaseResult = overBudget
              ? { name: next.c.name, version: next.version, kind: next.c.kind, verdict: 'error', reason: `not run: the replay exceeded its time budget (BLACKBOX_BUDGET_S=${budgetS})`, stages: [], problems: [], ms: 0 }
              : await runCase(corpus, next.c, next.version, { bin, stubDir, selinuxShim: target.isIgnition, keepTmp: !!process.env.BLACKBOX_KEEP_TMP });
            results.set(next.id, res);
            process.stderr.write(`blackbox: ${res.verdict.padEnd(5)} ${next.id} (${(res.ms / 1000).toFixed(1)} s)${res.reason ? ' - ' + res.reason.split('\n')[0].slice(0, 200) : ''}\n`);
            deferred.get(next.id)!(res);
          }
        })(),
      );
    }
    void Promise.all(workers);
  }, 120_000);

  afterAll(async () => {
    await fixtures?.close();
    await shim?.close();
    if (stubRoot) rmSync(stubRoot, { recursive: true, force: true });
    if (shim && process.env.BLACKBOX_SHIM_LOG) writeFileSync(process.env.BLACKBOX_SHIM_LOG, shim.log.join('\n') + '\n');
    if (!target) return;
    const all = [...results.values()];
    const count = (v: string) => all.filter((r) => r.verdict === v).length;
    process.stderr.write(
      `blackbox summary (${target.flavour}): ${count('pass')} pass, ${count('fail')} fail, ${count('error')} harness errors, ${count('skip')} skipped, of ${all.length} runs; ${(all.reduce((s, r) => s + r.ms, 0) / 1000).toFixed(0)} s of case time\n`,
    );
    if (process.env.BLACKBOX_REPORT) writeFileSync(process.env.BLACKBOX_REPORT, JSON.stringify(all, null, 1));
    if (process.env.BLACKBOX_WRITE_KNOWN_FAILURES) {
      const failures = all
        .filter((r) => r.verdict === 'fail' || r.verdict === 'error')
        .map((r) => ({ case: r.name, reason: (knownFailure(known, r.kind, r.name, r.version)?.reason ?? r.reason).split('\n')[0].slice(0, 300), ...(dupNames.has(r.name) ? { kind: r.kind } : {}) }));
      writeFileSync(target.knownFailuresFile, JSON.stringify({ description: known.description ?? '', failures }, null, 2) + '\n');
      process.stderr.write(`blackbox: wrote ${failures.length} expected failures to ${target.knownFailuresFile}\n`);
    }
  });

  // One test per corpus case, grouped as upstream groups them; the version(s) it runs at are
  // decided once the binary is known.
  for (const kind of ['positive', 'negative'] as const) describe(kind, () => {
  for (const c of corpus.cases.filter((x) => x.kind === kind)) {
    test(c.name, async (ctx) => {
      const mine = plan.runs.filter((r) => r.c === c);
      if (!mine.length) {
        const { skipped } = planRuns([c], target);
        ctx.skip(skipped.length ? skipped[0].reason : 'not selected (BLACKBOX_FILTER / BLACKBOX_VERSIONS)');
        return;
      }
      const messages: string[] = [];
      let skippedReason = '';
      for (const r of mine) {
        const res = await pending.get(r.id)!;
        const kf = knownFailure(known, c.kind, c.name, r.version);
        if (res.verdict === 'skip') {
          skippedReason = res.reason;
          continue;
        }
        if (res.verdict === 'pass') {
          if (kf?.flaky) process.stderr.write(`blackbox: ${r.id} passed this time; listed as flaky ("${kf.reason}")\n`);
          else if (kf) {
            const msg = `${r.id} now PASSES but is listed as a known failure ("${kf.reason}"): remove it from ${target.knownFailuresFile}`;
            if (process.env.BLACKBOX_ALLOW_XPASS) process.stderr.write(`blackbox: ${msg}\n`);
            else messages.push(msg);
          }
          continue;
        }
        if (kf) continue; // expected failure
        const log = res.stages.map((s) => `--- ${s.stage}: exit ${s.code}${s.failure ? ` (${s.failure})` : ''}, ${s.ms} ms\n${s.output.slice(-3000)}`).join('\n');
        messages.push(`${r.id}: ${res.verdict}: ${res.reason}\n${res.problems.slice(0, 20).join('\n')}\n${log}`);
      }
      if (skippedReason && !messages.length && mine.every((r) => results.get(r.id)?.verdict === 'skip')) {
        ctx.skip(skippedReason);
        return;
      }
      expect(messages, messages.join('\n\n')).toEqual([]);
    }, 20 * 60_000);
  }
  });
});
