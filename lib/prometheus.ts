/** The Prometheus text exposition format (version 0.0.4), written by hand: families of samples with labels. */

export interface Sample {
  labels?: Record<string, string>;
  value: number;
  /** Appended to the family name (`_bucket`, `_sum`, `_count`). */
  suffix?: string;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: Sample[];
}

/** Label values escape backslash, double quote and newline; HELP text escapes backslash and newline. */
const labelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const helpText = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders metric families as `text/plain; version=0.0.4`. */
export function exposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${helpText(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const entries = Object.entries(s.labels ?? {});
      const labels = entries.length ? `{${entries.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}` : '';
      lines.push(`${f.name}${s.suffix ?? ''}${labels} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A cumulative histogram family from per-label bucket counts (counts per `le` bound, not yet cumulative). */
export function histogram(
  name: string,
  help: string,
  bounds: number[],
  series: { labels: Record<string, string>; counts: number[]; sum: number; count: number }[],
): MetricFamily {
  const samples: Sample[] = [];
  for (const s of series) {
    let acc = 0;
    bounds.forEach((b, i) => {
      acc += s.counts[i] ?? 0;
      samples.push({ suffix: '_bucket', labels: { ...s.labels, le: String(b) }, value: acc });
    });
    samples.push({ suffix: '_bucket', labels: { ...s.labels, le: '+Inf' }, value: s.count });
    samples.push({ suffix: '_sum', labels: s.labels, value: s.sum });
    samples.push({ suffix: '_count', labels: s.labels, value: s.count });
  }
  return { name, help, type: 'histogram', samples };
}
