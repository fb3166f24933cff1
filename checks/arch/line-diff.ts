/** One line of an edit script: kept, removed (old side) or added (new side). */
export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
  /** 1-based line numbers on each side (the side a line does not exist on is null). */
  oldNo: number | null;
  newNo: number | null;
}

export interface Hunk {
  header: string;
  lines: DiffLine[];
}

/**
 * Shortest edit script between two line arrays (Myers' O(ND) greedy algorithm with a trace for backtracking).
 * `maxD` bounds the work: beyond that many differences null is returned.
 */
export function diffLines(a: string[], b: string[], maxD = 4000): DiffLine[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxD);
  const off = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    v = next;
  }
  if (found < 0) return null;
  const out: DiffLine[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const pv = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && pv[off + k - 1] < pv[off + k + 1]) ? k + 1 : k - 1;
    const px = pv[off + prevK];
    const py = px - prevK;
    while (x > px && y > py) {
      x--;
      y--;
      out.push({ op: ' ', text: a[x], oldNo: x + 1, newNo: y + 1 });
    }
    if (x === px) {
      y--;
      out.push({ op: '+', text: b[y], oldNo: null, newNo: y + 1 });
    } else {
      x--;
      out.push({ op: '-', text: a[x], oldNo: x + 1, newNo: null });
    }
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    out.push({ op: ' ', text: a[x], oldNo: x + 1, newNo: y + 1 });
  }
  return out.reverse();
}

/** Groups an edit script into unified-diff hunks with `context` unchanged lines around each change. */
export function hunks(script: DiffLine[], context = 3): Hunk[] {
  const out: Hunk[] = [];
  const changed = script.map((l, i) => (l.op === ' ' ? -1 : i)).filter((i) => i >= 0);
  let i = 0;
  while (i < changed.length) {
    const start = Math.max(0, changed[i] - context);
    let end = Math.min(script.length - 1, changed[i] + context);
    while (i + 1 < changed.length && changed[i + 1] - context <= end + 1) {
      i++;
      end = Math.min(script.length - 1, changed[i] + context);
    }
    const lines = script.slice(start, end + 1);
    const oldStart =
      lines.find((l) => l.oldNo !== null)?.oldNo ?? script.slice(0, start).filter((l) => l.oldNo !== null).length;
    const newStart =
      lines.find((l) => l.newNo !== null)?.newNo ?? script.slice(0, start).filter((l) => l.newNo !== null).length;
    const oldLen = lines.filter((l) => l.op !== '+').length;
    const newLen = lines.filter((l) => l.op !== '-').length;
    out.push({ header: `@@ -${oldStart},${oldLen} +${newStart},${newLen} @@`, lines });
    i++;
  }
  return out;
}

/** A unified diff (`--- a/…`, `+++ b/…`, hunks) of two texts; null when they differ too much to diff. */
export function unifiedDiff(
  path: string,
  oldText: string,
  newText: string,
  context = 3,
): { text: string; hunks: Hunk[] } | null {
  const script = diffLines(oldText.split('\n'), newText.split('\n'));
  if (!script) return null;
  const hs = hunks(script, context);
  const body = hs.map((h) => [h.header, ...h.lines.map((l) => `${l.op}${l.text}`)].join('\n')).join('\n');
  return { text: hs.length ? `--- a/${path}\n+++ b/${path}\n${body}\n` : '', hunks: hs };
}
