/** Escapes text for HTML element content and attribute values. Every string from a repo goes through this. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tagged template that escapes every interpolated value unless it is already `Html`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out +=
      (Array.isArray(v)
        ? v.map((x) => (x instanceof Html ? x.value : esc(x))).join('')
        : v instanceof Html
          ? v.value
          : esc(v)) + strings[i + 1];
  });
  return new Html(out);
}

const CSS = `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1b1f24}
h1{font-size:1.5rem;word-break:break-all}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #d8dee4;padding:.35rem .5rem;text-align:left;vertical-align:top}
.verdict{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;color:#fff}
.v-critical{background:#cf222e}.v-warning{background:#bf8700}.v-ok{background:#1a7f37}.v-error{background:#6e7781}.v-pending{background:#8c959f}
.finding{border:1px solid #d8dee4;border-left-width:6px;border-radius:6px;padding:.5rem .8rem;margin:.8rem 0}
.sev-critical{border-left-color:#cf222e}.sev-warning{border-left-color:#bf8700}.sev-info{border-left-color:#0969da}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:24rem;font-size:12px}code{font-size:13px}`;

export function page(title: string, body: Html): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>${body.value}</body></html>`;
}

export function verdictBadge(v: string | null): Html {
  const word = v ?? 'pending';
  return html`<span class="verdict v-${word}" data-verdict="${word}">${word}</span>`;
}
