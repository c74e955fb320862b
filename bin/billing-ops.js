#!/usr/bin/env node
// `npx billing-ops <command>`: runs src/cli/index.ts through tsx, the same as `npm run ops`.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'src', 'cli', 'index.ts');
const tsx = require.resolve('tsx/cli', { paths: [path.join(__dirname, '..')] });
const result = spawnSync(process.execPath, [tsx, cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (result.error) {
  process.stderr.write(`Could not start the billing-ops CLI: ${result.error.message}\n`);
  process.exit(2);
}
process.exit(result.status === null ? 2 : result.status);
