// The operator page's what-if (SPEC §7): a form for the proposed settings and an optional time,
// and what they would change — counts by (status now → would be) and by (allowed now → would be)
// per gated action, with example accounts and the event that makes the difference. Read-only.
import type { WhatIfExample, WhatIfResult } from '../../ops/what-if';
import { type Html, html, label, page, table } from './html';

/** The form's fields, as the query string carries them (empty: not proposed). */
export interface WhatIfForm {
  past_due_grace: string;
  gated_actions: string;
  default_trial_days: string;
  at: string;
}

const FIELDS: {
  name: keyof WhatIfForm;
  key: string | null;
  ja: string;
  en: string;
  hint: string;
}[] = [
  {
    name: 'past_due_grace',
    key: 'PAST_DUE_GRACE',
    ja: '支払い遅延の猶予',
    en: 'Past-due grace',
    hint: '3d, 72h, none',
  },
  {
    name: 'gated_actions',
    key: 'GATED_ACTIONS',
    ja: '制限するアクション',
    en: 'Gated actions',
    hint: 'confirm,export',
  },
  {
    name: 'default_trial_days',
    key: 'DEFAULT_TRIAL_DAYS',
    ja: '既定のトライアル日数',
    en: 'Default trial days',
    hint: '14',
  },
  {
    name: 'at',
    key: null,
    ja: '時点（任意）',
    en: 'As of (optional)',
    hint: '2026-12-01T09:00:00Z',
  },
];

/** The `KEY=VALUE` pairs the filled-in fields propose. */
export function proposedPairs(form: WhatIfForm): string[] {
  return FIELDS.flatMap((f) =>
    f.key !== null && form[f.name].trim() !== '' ? [`${f.key}=${form[f.name].trim()}`] : [],
  );
}

const accountLink = (id: string): Html =>
  html`<a href="/ops/accounts/${encodeURIComponent(id)}">${id}</a>`;

const eventCell = (e: WhatIfExample['event']): Html | string =>
  e === null ? '—' : html`<code>${e.event}</code> ${e.event_type ?? ''} ${e.occurred_at ?? ''}`;

function formHtml(form: WhatIfForm): Html {
  const inputs = FIELDS.map(
    (f) =>
      html`<label
        >${label(f.ja, f.en)}${f.key ? html` <code>${f.key}</code>` : ''}<br /><input
          name="${f.name}"
          value="${form[f.name]}"
          placeholder="${f.hint}"
      /></label>`,
  );
  return html`<form id="what-if-form" method="get" action="/ops/what-if">
    ${inputs}
    <button type="submit">${label('試算する', 'Show what would change')}</button>
  </form>`;
}

function resultHtml(r: WhatIfResult): Html {
  const statusRows = r.statuses.map((s) => [
    s.now,
    s.would,
    s.now !== s.would ? html`<strong>${s.accounts}</strong>` : s.accounts,
  ]);
  const gateRows = r.gate.map((g) => [
    g.action,
    g.now,
    g.would,
    g.now !== g.would ? html`<strong>${g.accounts}</strong>` : g.accounts,
  ]);
  const examples = [
    ...r.statuses.flatMap((s) =>
      s.examples.map((e) => [
        html`${label('ステータス', 'status')} ${s.now} → ${s.would}`,
        accountLink(e.account_id),
        eventCell(e.event),
      ]),
    ),
    ...r.gate.flatMap((g) =>
      g.examples.map((e) => [
        html`${g.action}: ${g.now} → ${g.would} (${e.now.gate[g.action]?.reason} →
        ${e.would.gate[g.action]?.reason})`,
        accountLink(e.account_id),
        eventCell(e.event),
      ]),
    ),
  ];
  return html`<section id="what-if-result">
    <p id="what-if-summary"><strong>${r.summary}</strong></p>
    <div class="grid">
      <div>
        <h3>${label('ステータス（現在 → 変更後）', 'Status (now → would be)')}</h3>
        ${table(
          [label('現在', 'Now'), label('変更後', 'Would be'), label('アカウント数', 'Accounts')],
          statusRows,
          label('アカウントはありません', 'No accounts'),
        )}
      </div>
      <div>
        <h3>${label('ゲート（現在 → 変更後）', 'Gate (now → would be)')}</h3>
        ${table(
          [
            label('アクション', 'Action'),
            label('現在', 'Now'),
            label('変更後', 'Would be'),
            label('アカウント数', 'Accounts'),
          ],
          gateRows,
          label('制限されたアクションはありません', 'No gated action'),
        )}
      </div>
    </div>
    <h3>
      ${label('変わるアカウントの例と決め手のイベント', 'Example accounts and the event that makes the difference')}
    </h3>
    ${table(
      [label('変化', 'Change'), label('アカウント', 'Account'), label('イベント', 'Event')],
      examples,
      label('変わるアカウントはありません', 'No account would change'),
    )}
  </section>`;
}

export function whatIfPage(input: {
  form: WhatIfForm;
  result: WhatIfResult | null;
  errors: string[];
}): string {
  const errors =
    input.errors.length > 0
      ? html`<div id="what-if-errors" class="errors">
          <p>${label('入力を確認してください', 'Please check the settings')}:</p>
          <ul>
            ${input.errors.map((e) => html`<li>${e}</li>`)}
          </ul>
        </div>`
      : '';
  return page(
    '変更の試算 / What-if',
    html`<section id="what-if">
      <h2>${label('変更の試算', 'What-if')}</h2>
      <p>
        ${label(
          '設定を変える前に、記録済みのイベントを提案する設定で再計算し、誰のステータスやゲートの答えが変わるかを示します。何も書き込みません。',
          'Before a setting is changed: every account’s recorded events replayed under the proposed settings, and who would get a different status or gate answer. Nothing is written.',
        )}
      </p>
      ${formHtml(input.form)} ${errors} ${input.result ? resultHtml(input.result) : ''}
    </section>`,
  );
}
