/** HTML building blocks of the status pages: escaping, the tagged template, the page shell and its stylesheet. */
import { themeCss } from './theme.ts';

/** Escapes text for HTML element content and attribute values. Every string from a repo goes through this. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup that is already safe; the `html` template inserts it as is. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A tagged template that escapes every interpolated value unless it is already `Html` (arrays are joined). */
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

// Layout rules: nothing may be wider than a 390 px phone, so long words break, tables wrap their cells and
// wide blocks (pre, plots, evidence tables) scroll or scale inside themselves instead of the page. On wider
// screens evidence table cells break only at spaces (ids and tensor names stay whole), inside their scroll box.
const CSS = `*{box-sizing:border-box}
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 1rem 2rem;background:var(--bg);color:var(--fg);overflow-wrap:anywhere}
a{color:var(--link)}header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;align-items:baseline;padding:.8rem 0;border-bottom:1px solid var(--border);margin-bottom:1rem}
header.top .brand{font-weight:700;text-decoration:none;color:var(--fg)}h1{font-size:1.45rem;margin:.6rem 0}h2{font-size:1.15rem;margin-top:1.6rem}
.muted{color:var(--muted)}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem}
td,th{border-bottom:1px solid var(--border);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600;overflow-wrap:normal}.verdict{display:inline-block;padding:.05rem .6rem;border-radius:1rem;font-weight:600;font-size:.85rem;white-space:nowrap}
.status{border:1px solid var(--border);border-radius:8px;padding:.7rem 1rem;margin:.8rem 0;background:var(--surface)}
.status strong{font-size:1.1rem}.finding{border:1px solid var(--border);border-left-width:6px;border-radius:6px;padding:.5rem .8rem;margin:.8rem 0}
.finding h3{font-size:1rem;margin:.2rem 0}.fix{font-weight:600}.muted-finding{opacity:.8}
pre{background:var(--surface);padding:.5rem;overflow:auto;max-height:24rem;font-size:12px;white-space:pre-wrap}code{font-size:13px}
.side{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.6rem}.side h4{margin:.2rem 0;font-size:.85rem}
figure.norm-plot{margin:.6rem 0}.plot{width:100%;height:auto;max-width:760px;display:block}.plot text{fill:var(--fg);font-size:11px}
.plot .band{fill:var(--band)}.plot .median{fill:none;stroke:var(--line);stroke-width:1.2}
.weight-diff-chart{max-width:100%;height:auto;display:block}.weight-diff-chart text{fill:var(--fg);font-size:11px}
.diff-bar{fill:var(--line)}.diff-unrelated .diff-bar{fill:var(--flagged)}.diff-ref{stroke:var(--threshold);stroke-dasharray:4 3}
.plot .threshold{stroke:var(--threshold);stroke-dasharray:4 3;stroke-width:1.2}.plot .flagged{fill:var(--flagged)}.plot .axis{stroke:var(--muted)}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0 1rem}
form.filters label{display:flex;flex-direction:column;font-size:.85rem}input,select,button{font:inherit;padding:.25rem .4rem;max-width:100%;background:var(--bg);color:var(--fg);border:1px solid var(--muted);border-radius:4px}
.codes code{margin-right:.3rem}ol.timeline{list-style:none;padding:0}ol.timeline li{border-left:3px solid var(--border);padding:.2rem 0 .6rem .8rem}
.table-wrap{overflow-x:auto}@media (min-width:601px){.table-wrap td{overflow-wrap:normal}.table-wrap td .json{overflow-wrap:anywhere}}
dl.ev{display:grid;grid-template-columns:minmax(6rem,max-content) minmax(0,1fr);gap:.2rem .8rem;margin:.4rem 0}dl.ev dt{font-weight:600}dl.ev dd{margin:0}
@media (max-width:600px){table.stack thead{display:none}table.stack tr{display:block;border-bottom:1px solid var(--border);padding:.3rem 0}
table.stack td{display:block;border:0;padding:.1rem 0}table.stack td:empty{display:none}table.stack td[data-label]::before{content:attr(data-label) ": ";color:var(--muted)}
dl.ev{grid-template-columns:1fr}.plot text{font-size:20px}.weight-diff-chart text{font-size:14px}}`;

/** The whole stylesheet, built once: the theme's colours do not change while the process runs. */
const STYLE = `${themeCss()}\n${CSS}`;

export interface PageOptions {
  /** Seconds after which the browser reloads the page (a release still being checked). */
  refreshSeconds?: number;
  /** An Atom feed to advertise. */
  feed?: string;
}

/** A whole HTML document: head, the site header, then `body`. Works without JavaScript and loads nothing else. */
export function page(title: string, body: Html, opts: PageOptions = {}): string {
  const refresh = opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}" />` : '';
  const feed = opts.feed ? html`<link rel="alternate" type="application/atom+xml" href="${opts.feed}" />` : '';
  const head = html`<meta charset="utf-8" /><meta name="viewport" content="width=device-width,initial-scale=1" />
    ${refresh}${feed}<title>${title}</title>`;
  return `<!doctype html><html lang="en"><head>${head.value}<style>${STYLE}</style></head><body><header class="top"><a class="brand" href="/">hubwatch</a><a href="/">models</a><a href="/feed.xml">feed</a></header><main>${body.value}</main></body></html>`;
}
