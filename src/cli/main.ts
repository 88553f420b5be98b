#!/usr/bin/env node
// Entry point of dist/kindling. Two faces:
//  - Ignition's: `kindling -platform P -stage S [-root DIR] ...`, flag for flag, so dracut units
//    and scripts written for the ignition binary run unchanged;
//  - people's: `kindling validate|plan|apply ...`.
// Each command module is loaded when its command runs: `import()` with webpackMode "eager" keeps it
// inside the one bundle file (no chunk) but evaluates its module graph only on that call. Every
// process pays for the modules it initialises (in the initrd, once per stage), and a static import
// here made `--version` initialise all of them: every stage, the config engine, the logger.
import { formatError, KindlingError } from '../errors.js';
import { writeOutSync } from '../system/write-all.js';
import { KINDLING_VERSION } from '../version.js';

const USAGE = `Kindling ${KINDLING_VERSION}: first-boot provisioning, a drop-in replacement for Ignition.

Usage:
  kindling validate CONFIG|-             check a config (any spec 1.x-3.6), print errors and warnings
  kindling plan CONFIG [--disk DEV=IMAGE_OR_SIZE ...] [--root DIR] [--json] [--fetch]
                                         print every operation each stage would perform
  kindling apply CONFIG --root DIR       run the files stage against a directory
  kindling apply CONFIG --image FILE [--size 8G]
                                         provision a sparse disk image through a loop device
  kindling rmcfg --platform vmware|virtualbox
                                         delete the config from the platform after provisioning
                                         (Ignition's ignition-rmcfg; also run under that name)
  kindling -platform P -stage S [-root DIR] [-config-cache F] [-state-file F] [-neednet F]
           [-fetch-timeout DUR] [-log-to-stdout]
                                         the ignition binary's interface, for the initrd
  kindling --version
`;

export async function main(argv: string[]): Promise<number> {
  // Under Ignition's name (a link /usr/libexec/ignition-rmcfg), with Ignition's flags unchanged.
  if (/(^|\/)ignition-rmcfg$/.test(process.argv[1] ?? '')) return (await import(/* webpackMode: "eager" */ './rmcfg.js')).runRmcfg(argv);
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
    case 'help':
    case '-h':
    case '-help':
    case '--help':
      writeOutSync(1, USAGE);
      return first === undefined ? 2 : 0;
    case 'version':
    case '--version':
      writeOutSync(1, `Kindling ${KINDLING_VERSION}\n`);
      return 0;
    case 'validate':
      return (await import(/* webpackMode: "eager" */ './validate.js')).runValidate(rest);
    case 'plan':
      return (await import(/* webpackMode: "eager" */ './plan.js')).runPlan(rest);
    case 'apply':
      return (await import(/* webpackMode: "eager" */ './apply.js')).runApply(rest);
    case 'rmcfg':
      return (await import(/* webpackMode: "eager" */ './rmcfg.js')).runRmcfg(rest);
    case 'serve':
      return (await import(/* webpackMode: "eager" */ './serve.js')).runServe(rest);
    default:
      if (first.startsWith('-')) return (await import(/* webpackMode: "eager" */ './ignition.js')).runIgnition(argv);
      throw new KindlingError('usage', `unknown command "${first}"; run "kindling --help"`);
  }
}

// Fail closed: if the event loop drains while the command is still pending (a promise nobody
// will ever settle), node would exit 0 with the work half done. Treat that as the error it is.
let settled = false;
process.on('exit', (code) => {
  if (!settled && code === 0) {
    process.stderr.write('kindling: internal error: the command stopped before finishing (an operation never completed)\n');
    process.exitCode = 1;
  }
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
    // The stage server ends when told to, whatever its stages left running (serve.ts).
    if (process.argv[2] === 'serve') process.exit(code);
  },
  (err: unknown) => {
    settled = true;
    process.stderr.write(`kindling: ${formatError(err)}\n`);
    if (err instanceof KindlingError) {
      for (const e of err.entries) process.stderr.write(`  ${e.kind}: ${e.message}${e.location ? ' at ' + (e.location.pointer || '/') + (e.location.line !== undefined ? ` (line ${e.location.line}, column ${e.location.column})` : '') : ''}\n`);
    }
    process.exitCode = err instanceof KindlingError && err.kind === 'usage' ? 2 : 1;
  },
);
