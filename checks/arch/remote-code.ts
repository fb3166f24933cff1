import { jsonObject } from '../snapshot-files.ts';
import type { Check, Severity, Snapshot } from '../types.ts';
import { tableFinding, worst, type EvidenceRow } from './evidence.ts';
import { unifiedDiff, type Hunk } from './line-diff.ts';

/** Numerics a modeling-code change can silently alter, with the words that give a changed line away. */
export const SENSITIVE_CODE: Record<string, RegExp> = {
  activation:
    /\b(act_fn|ACT2FN|hidden_act|hidden_activation|gelu|silu|swish|relu2?|squared_relu|tanh_approx|approximate)\b/i,
  'attention scaling':
    /\b(scaling|softmax_scale|rsqrt|sqrt|query_pre_attn_scalar|attn_scale|head_dim\s*\*\*|norm_factor)\b/i,
  'rotary embedding': /\b(rotary|rope\w*|inv_freq|rotate_half|apply_rotary_pos_emb|cos|sin|partial_rotary_factor)\b/i,
  softcapping: /\b(softcap\w*|logit_softcapping|tanh)\b/i,
};

const MAX_DIFF_CHARS = 20_000;

function autoMapEntries(snap: Snapshot): { file: string; key: string; ref: string }[] {
  const out: { file: string; key: string; ref: string }[] = [];
  for (const file of ['config.json', 'tokenizer_config.json']) {
    const am = jsonObject(snap, file)?.auto_map;
    if (!am || typeof am !== 'object') continue;
    for (const [key, v] of Object.entries(am as Record<string, unknown>)) {
      for (const ref of Array.isArray(v) ? v : [v]) if (typeof ref === 'string') out.push({ file, key, ref });
    }
  }
  return out;
}

/** The module file an auto_map reference loads (`org/repo--modeling_x.Cls` loads from another repo). */
function moduleOf(ref: string): { repo: string | null; file: string } {
  const [repo, local] = ref.includes('--') ? ref.split('--', 2) : [null, ref];
  return { repo, file: `${local.split('.').slice(0, -1).join('/')}.py` };
}

function categories(hs: Hunk[]): { category: string; hunk: string; lines: string[] }[] {
  const out: { category: string; hunk: string; lines: string[] }[] = [];
  for (const h of hs) {
    const changed = h.lines.filter((l) => l.op !== ' ').map((l) => `${l.op}${l.text}`);
    for (const [category, re] of Object.entries(SENSITIVE_CODE)) {
      const hit = changed.filter((l) => re.test(l.slice(1)));
      if (hit.length) out.push({ category, hunk: h.header, lines: hit.slice(0, 8) });
    }
  }
  return out;
}

interface FileChange {
  row: EvidenceRow;
  severity: Severity;
  diff?: string;
  callouts?: ReturnType<typeof categories>;
}

function compareFile(path: string, release: Snapshot, previous: Snapshot): FileChange | null {
  const now = release.files.find((f) => f.path === path);
  const before = previous.files.find((f) => f.path === path);
  const base = { field: path, source: 'release files' };
  if (!before)
    return {
      row: { ...base, value: 'added', previous: null, note: 'new code since the previous revision' },
      severity: 'warning',
    };
  if (!now) return { row: { ...base, value: null, previous: 'present', note: 'removed' }, severity: 'info' };
  const a = previous.texts[path];
  const b = release.texts[path];
  if (a === undefined || b === undefined) {
    if (now.size === before.size) return null;
    return {
      row: {
        ...base,
        value: `${now.size} bytes`,
        previous: `${before.size} bytes`,
        note: 'changed (content not kept in the snapshot)',
      },
      severity: 'warning',
    };
  }
  if (a === b) return null;
  const d = unifiedDiff(path, a, b);
  const callouts = d ? categories(d.hunks) : [];
  const touched = [...new Set(callouts.map((c) => c.category))];
  return {
    row: {
      ...base,
      value: 'changed',
      previous: `${before.size} bytes`,
      note: touched.length
        ? `touches ${touched.join(', ')}`
        : d
          ? `${d.hunks.length} hunk(s)`
          : 'too different to diff',
    },
    severity: touched.length || !d ? 'warning' : 'info',
    diff: d
      ? d.text.length > MAX_DIFF_CHARS
        ? `${d.text.slice(0, MAX_DIFF_CHARS)}\n… (truncated)`
        : d.text
      : undefined,
    callouts,
  };
}

/**
 * REMOTE_CODE: the repo ships Python that `trust_remote_code` executes (modeling_*.py, auto_map). When that code
 * changed since the previous revision, the unified diff is the evidence, with hunks that touch activations,
 * attention scaling, rotary embeddings or softcapping called out.
 */
export const remoteCode: Check = {
  id: 'remote-code',
  title: 'Remote code and its changes',
  queue: 'checks',
  codes: ['REMOTE_CODE'],
  run({ release, previous }) {
    const py = release.files.filter((f) => f.path.endsWith('.py')).map((f) => f.path);
    const refs = autoMapEntries(release);
    const prevPy = previous ? previous.files.filter((f) => f.path.endsWith('.py')).map((f) => f.path) : [];
    if (!py.length && !refs.length && !prevPy.length) return { status: 'passed' };
    const rows: EvidenceRow[] = [];
    const severities: Severity[] = ['info'];
    for (const r of refs) {
      const m = moduleOf(r.ref);
      const missing = m.repo === null && !release.files.some((f) => f.path === m.file);
      if (missing) severities.push('warning');
      rows.push({
        field: `${r.file} auto_map.${r.key}`,
        value: r.ref,
        source: r.file,
        note: m.repo
          ? `code loaded from another repo: ${m.repo}`
          : missing
            ? `${m.file} is not in the release`
            : m.file,
      });
    }
    const changes = previous
      ? [...new Set([...py, ...prevPy])]
          .sort()
          .map((p) => compareFile(p, release, previous))
          .filter((c): c is FileChange => c !== null)
      : [];
    for (const ch of changes) {
      rows.push(ch.row);
      severities.push(ch.severity);
    }
    for (const p of py.filter((p) => !changes.some((c) => c.row.field === p))) {
      rows.push({
        field: p,
        value: `${release.files.find((f) => f.path === p)?.size ?? 0} bytes`,
        source: 'release files',
        ...(previous ? { note: 'unchanged' } : {}),
      });
    }
    const diffs = Object.fromEntries(changes.filter((c) => c.diff).map((c) => [c.row.field, c.diff]));
    const callouts = changes.flatMap((c) => (c.callouts ?? []).map((x) => ({ file: c.row.field, ...x })));
    const severity = worst(severities);
    const title = changes.length
      ? `Remote code changed since ${previous!.sha.slice(0, 12)}: ${changes.map((c) => c.row.field).join(', ')}${callouts.length ? ` (touches ${[...new Set(callouts.map((c) => c.category))].join(', ')})` : ''}`
      : `Ships remote code (${py.length} Python file(s), ${refs.length} auto_map entr${refs.length === 1 ? 'y' : 'ies'})`;
    return {
      status: 'findings',
      findings: [
        tableFinding({
          code: 'REMOTE_CODE',
          severity,
          files: [...new Set([...py, ...refs.map((r) => r.file)])],
          title,
          detail:
            "Loading this model with trust_remote_code runs the repo's Python. Runtimes that port the architecture natively do not pick up changes to it, so numerics changes in this code (activation, attention scale, RoPE, softcap) silently split behaviour between runtimes.",
          table: rows,
          extra: { ...(previous ? { previous: { repo: previous.repo, sha: previous.sha } } : {}), diffs, callouts },
        }),
      ],
    };
  },
};
