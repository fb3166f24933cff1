#!/usr/bin/env node
// The `hubwatch` command (npx hubwatch): loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli.ts');
try {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exitCode = code;
} catch (e) {
  process.stderr.write(`hubwatch: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
}
