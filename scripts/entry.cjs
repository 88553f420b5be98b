// Bundle entry: a .cjs file makes ncc emit CommonJS, which node runs from an extensionless file
// anywhere (the initramfs has no package.json beside it). The engine itself is written as ES modules.
require('../src/cli/main.ts');
