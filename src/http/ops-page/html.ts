// Server-rendered HTML for the operator page: escaping, the page frame, tables and the status
// chart. No scripts and no build step; every value passes through `esc`.
import type { CheckStatus } from '../../ops/check-item';

export type Html = { readonly html: string };

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function esc(value: unknown): string {
  const text =
    value === null || value === undefined
      ? '—'
      : typeof value === 'string'
        ? value
        : typeof value === 'number' || typeof value === 'boolean'
          ? String(value)
          : JSON.stringify(value);
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Tagged template: interpolated values are escaped unless they are already Html. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const part = Array.isArray(v)
      ? v.map((x) => (isHtml(x) ? x.html : esc(x))).join('')
      : isHtml(v)
        ? v.html
        : esc(v);
    out += part + (strings[i + 1] ?? '');
  });
  return { html: out };
}

function isHtml(v: unknown): v is Html {
  return typeof v === 'object' && v !== null && typeof (v as Html).html === 'string';
}

/** A bilingual label: Japanese first, English after. */
export const label = (ja: string, en: string): Html =>
  html`<span lang="ja">${ja}</span> <span class="en" lang="en">${en}</span>`;

const STATE_LABEL: Record<CheckStatus, [string, string]> = {
  ok: ['正常', 'OK'],
  warn: ['注意', 'WARN'],
  fail: ['異常', 'FAIL'],
};

export const stateBadge = (s: CheckStatus): Html =>
  html`<span class="badge ${s}" data-state="${s}">${STATE_LABEL[s][0]} ${STATE_LABEL[s][1]}</span>`;

export function table(headers: Html[], rows: unknown[][], empty: Html): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table>
    <thead>
      <tr>
        ${headers.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr>
            ${r.map((c) => html`<td>${c}</td>`)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

const STATUS_COLOR: Record<string, string> = {
  free: '#7aa6d8',
  early_payment: '#4f8fd6',
  active: '#2e9e5b',
  canceling: '#d6a23c',
  past_due: '#d9703c',
  stopped: '#c94a4a',
  canceled: '#8a8a8a',
};

const STATUS_ORDER = Object.keys(STATUS_COLOR);

/** Horizontal bars, one per status, as inline SVG. */
export function statusChart(byStatus: Record<string, number>): Html {
  const entries = [
    ...STATUS_ORDER.map((s) => [s, byStatus[s] ?? 0] as const),
    ...Object.entries(byStatus).filter(([s]) => !STATUS_ORDER.includes(s)),
  ];
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const rowH = 26;
  const width = 560;
  const barMax = 340;
  const bars = entries.map(([status, n], i) => {
    const y = i * rowH;
    const w = Math.round((n / max) * barMax);
    const share = total === 0 ? 0 : (n / total) * 100;
    return html`<g class="bar" data-status="${status}" data-count="${n}">
      <text x="0" y="${y + 17}" font-size="13">${status}</text>
      <rect
        x="120"
        y="${y + 4}"
        width="${w}"
        height="18"
        fill="${STATUS_COLOR[status] ?? '#999'}"
      ></rect>
      <text x="${126 + w}" y="${y + 17}" font-size="13">${n} (${share.toFixed(1)}%)</text>
    </g>`;
  });
  return html`<svg
    class="chart"
    role="img"
    aria-label="status distribution"
    width="${width}"
    height="${entries.length * rowH + 4}"
    viewBox="0 0 ${width} ${entries.length * rowH + 4}"
  >
    ${bars}
  </svg>`;
}

const STYLE = `
body{font-family:system-ui,"Hiragino Sans","Noto Sans CJK JP",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe1ff;text-decoration:none}
main{padding:16px 24px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h1{font-size:18px;margin:0}h2{font-size:16px;margin:0 0 8px}
.en{color:#66707f;font-size:.85em}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eceff3;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f2f5}
td{word-break:break-word}
.badge{display:inline-block;border-radius:4px;padding:1px 6px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.ok{background:#dff3e6;color:#1f6b3c}.badge.warn{background:#fbeed3;color:#7a5310}.badge.fail{background:#f9dcdc;color:#8a1f1f}
.empty{color:#66707f}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
form input{padding:4px 6px;min-width:280px}
#what-if-form{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end}#what-if-form input{min-width:200px}
.errors{background:#f9dcdc;color:#8a1f1f;padding:4px 12px;border-radius:4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{color:#66707f}
`;

export function page(title: string, body: Html): string {
  return `<!doctype html>${
    html`<html lang="ja">
      <head>
        <meta charset="utf-8" />
        <title>${title}</title>
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <style>
          ${{ html: STYLE }}
        </style>
      </head>
      <body>
        <header>
          <h1>${label('課金オペレーション', 'Billing operations')}</h1>
          <a href="/ops">${label('日次チェック', 'Daily check')}</a>
          <a href="/ops/what-if">${label('変更の試算', 'What-if')}</a>
          <form method="get" action="/ops/accounts">
            <input name="id" placeholder="account id / アカウントID" aria-label="account id" />
          </form>
        </header>
        <main>${body}</main>
      </body>
    </html>`.html
  }`;
}
