#!/usr/bin/env node
// Runs every *.test.ts under the source folders with node:test through tsx.
// Node 20's --test does not expand globs, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['checks', 'lib', 'infra', 'services', 'workers', 'test'];
const files = [];
function walk(p) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    if (p.includes('node_modules')) return;
    for (const e of readdirSync(p).sort()) walk(join(p, e));
  } else if (p.endsWith('.test.ts')) files.push(p);
}
roots.forEach(walk);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Test files run two at a time by default: most of their time is spent waiting on workers, Postgres and Redis,
// and each has its own database and queue prefix. HUBWATCH_TEST_CONCURRENCY=1 runs them one by one.
const concurrency = Number(process.env.HUBWATCH_TEST_CONCURRENCY ?? 2);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
