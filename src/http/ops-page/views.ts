// The operator page's two views: the daily check (items, status chart, recent stops, delivery
// backlog) and one account (status with provenance, timeline of events and audit rows, link to
// its workflow in the Temporal Web UI). Read-only: they render what the queries return.
import type { AccountView } from '../../db/queries/account-reads';
import type { TimelineRow } from '../../db/queries/audit-logs';
import { accountExtras } from '../../domain/schedule-evidence';
import type { CheckItem } from '../../ops/check-item';
import type { DailyCheckResult } from '../../ops/daily-check';
import { type Html, html, label, page, stateBadge, statusChart, table } from './html';

type Row = Record<string, unknown>;

const ITEM_LABELS: Record<string, [string, string]> = {
  events_today: ['本日のイベント数', 'Events today'],
  last_sync: ['最終同期', 'Last sync'],
  status_distribution: ['ステータス分布', 'Status distribution'],
  mass_stop: ['一斉停止アラーム', 'Mass-stop alarm'],
  recent_stops: ['最近停止したユーザー', 'Recently stopped'],
  webhook_rejections_24h: ['Webhookエラー率', 'Webhook error rate'],
  duplicate_dedupe_keys: ['重複イベント', 'Duplicate dedupe keys'],
  last_event_mismatch: ['整合性', 'Integrity (last event)'],
  gate_probe: ['ゲート確認', 'Gate probe'],
  delivery_backlog: ['未配信イベント', 'Delivery backlog (outbox)'],
  dead_letters: ['配信不能イベント', 'Dead letters'],
  overdue_cancels: ['解約予定の遅延', 'Overdue cancels'],
  temporal: ['Temporal接続', 'Temporal'],
  table_growth: ['テーブル肥大化', 'Table growth'],
  notifications: ['ホストアプリへの通知', 'Notifications to the host app'],
};

const itemLabel = (name: string): Html => {
  const l = ITEM_LABELS[name];
  return l ? label(l[0], l[1]) : html`${name}`;
};

const accountLink = (id: unknown): Html =>
  html`<a href="/ops/accounts/${encodeURIComponent(String(id))}">${id}</a>`;

function itemValue(check: DailyCheckResult, name: string): Row {
  const item = check.items.find((i: CheckItem) => i.name === name);
  return (item?.value ?? {}) as Row;
}

/** `more`: further sections after the daily check's own (notifications). */
export function dailyCheckPage(check: DailyCheckResult, more: Html[] = []): string {
  const dist = itemValue(check, 'status_distribution');
  const stops = (itemValue(check, 'recent_stops').accounts ?? []) as Row[];
  const backlog = itemValue(check, 'delivery_backlog');
  const dead = itemValue(check, 'dead_letters');
  const items = check.items.map(
    (i) =>
      html`<tr data-item="${i.name}">
        <td>${itemLabel(i.name)}<br /><code>${i.name}</code></td>
        <td>${stateBadge(i.status)}</td>
        <td>${i.message}</td>
      </tr>`,
  );
  return page(
    '日次チェック / Daily check',
    html`<section id="daily-check">
        <h2>${label('日次チェック', 'Daily check')} ${stateBadge(check.status)}</h2>
        <p>${label('実行時刻', 'As of')}: ${check.ran_at}</p>
        <table>
          <thead>
            <tr>
              <th>${label('項目', 'Item')}</th>
              <th>${label('状態', 'State')}</th>
              <th>${label('内容', 'Details')}</th>
            </tr>
          </thead>
          <tbody>
            ${items}
          </tbody>
        </table>
      </section>
      <div class="grid">
        <section id="status-chart">
          <h2>${label('ステータス分布', 'Status distribution')}</h2>
          ${statusChart((dist.by_status ?? {}) as Record<string, number>)}
          <p>${label('合計', 'Total')}: ${dist.total ?? 0}</p>
        </section>
        <section id="backlog">
          <h2>${label('未配信イベント', 'Delivery backlog (outbox)')}</h2>
          <dl>
            <dt>${label('待機中', 'Waiting')}</dt>
            <dd>${backlog.waiting ?? 0}</dd>
            <dt>${label('5分超', 'Older than 5 min')}</dt>
            <dd>${backlog.count ?? 0}</dd>
            <dt>${label('最古', 'Oldest')}</dt>
            <dd>${backlog.oldest_received_at ?? '—'}</dd>
            <dt>${label('配信不能', 'Dead letters')}</dt>
            <dd>${dead.count ?? 0}</dd>
          </dl>
          ${table(
            [
              label('イベント', 'Event'),
              label('アカウント', 'Account'),
              label('種類', 'Type'),
              label('受信', 'Received'),
            ],
            ((backlog.sample ?? []) as Row[]).map((e) => [
              e.id,
              accountLink(e.account_id),
              e.event_type,
              e.received_at,
            ]),
            label('待機中のイベントはありません', 'Nothing waits for delivery'),
          )}
        </section>
      </div>
      <section id="recent-stops">
        <h2>${label('最近停止したユーザー（24時間）', 'Stopped or canceled in the last 24 h')}</h2>
        ${table(
          [
            label('アカウント', 'Account'),
            label('ステータス', 'Status'),
            label('現在', 'Now'),
            label('日時', 'When'),
            label('イベント', 'Event'),
          ],
          stops.map((s) => [
            accountLink(s.account_id),
            html`${s.from_status} → ${s.status}`,
            s.current_status,
            s.at,
            html`${s.source} ${s.event_type} <code>${s.dedupe_key}</code> (#${s.event_id})`,
          ]),
          label('停止・解約はありません', 'Nobody was stopped or canceled'),
        )}
      </section>
      ${more}`,
  );
}

export interface AccountPageInput {
  account: AccountView;
  timeline: TimelineRow[];
  workflowId: string;
  temporalUiUrl: string | null;
  namespace: string;
}

export function accountPage(a: AccountPageInput): string {
  const acct = a.account;
  const extras = accountExtras(acct.objects);
  const change = extras.pending_plan_change;
  const ui = a.temporalUiUrl
    ? html`<a
        id="temporal-link"
        href="${a.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(a.namespace)}/workflows/${encodeURIComponent(a.workflowId)}"
        >${label('Temporal Web UIで開く', 'Open in the Temporal Web UI')}: ${a.workflowId}</a
      >`
    : html`<span id="temporal-link"
        >${label('ワークフローID', 'Workflow id')}:
        <code>${a.workflowId}</code>
        (${label('Temporal Web UIのアドレスが不明です', 'Temporal Web UI address unknown')})</span
      >`;
  const rows = [...a.timeline]
    .reverse()
    .map((t) => [
      t.event_id,
      t.received_at,
      t.occurred_at,
      html`${t.source} ${t.event_type}<br /><code>${t.dedupe_key}</code>`,
      t.outcome ?? label('未処理', 'pending'),
      t.action,
      t.from_status || t.to_status ? html`${t.from_status} → ${t.to_status}` : '—',
      t.details && Object.keys(t.details).length > 0
        ? html`<code>${JSON.stringify(t.details)}</code>`
        : '—',
    ]);
  return page(
    `${acct.account_id} — アカウント / Account`,
    html`<section id="account">
        <h2>${label('アカウント', 'Account')}: <code>${acct.account_id}</code></h2>
        <dl>
          <dt>${label('ステータス', 'Status')}</dt>
          <dd id="account-status"><strong>${acct.status}</strong></dd>
          <dt>${label('根拠', 'Provenance')}</dt>
          <dd id="provenance">
            ${acct.status_object ?? '—'} ${acct.status_reason ? html`(${acct.status_reason})` : ''};
            ${label('判定時点', 'as of')} ${acct.as_of}
          </dd>
          <dt>${label('最終イベント', 'Last event')}</dt>
          <dd>
            ${acct.last_event ? html`#${acct.last_event.id} ${acct.last_event.source} ${acct.last_event.event_type} <code>${acct.last_event.dedupe_key}</code>` : '—'}
          </dd>
          <dt>${label('プロバイダー', 'Provider')}</dt>
          <dd>
            ${acct.provider}
            ${acct.provider_status ? html`(provider_status ${acct.provider_status})` : ''}
          </dd>
          <dt>${label('解約予定日', 'Scheduled cancel')}</dt>
          <dd>${acct.scheduled_cancel_at}</dd>
          <dt>${label('トライアル終了', 'Trial end')}</dt>
          <dd>${acct.trial_end}</dd>
          <dt>${label('予定のプラン変更', 'Pending plan change')}</dt>
          <dd id="pending-plan-change">
            ${change ? html`${change.plan ?? '—'} ${label('開始', 'from')} ${change.at} (<code>${change.schedule_id}</code>)` : '—'}
          </dd>
          <dt>${label('有効な機能', 'Active features')}</dt>
          <dd id="active-features">
            ${extras.active_features ? extras.active_features.join(', ') || '—' : '—'}
          </dd>
          <dt>Stripe</dt>
          <dd>${acct.stripe_customer_id} / ${acct.stripe_subscription_id}</dd>
          <dt>MyASP</dt>
          <dd>${acct.myasp_user_id}</dd>
          <dt>${label('ワークフロー', 'Workflow')}</dt>
          <dd>${ui}</dd>
        </dl>
      </section>
      <section id="timeline">
        <h2>${label('タイムライン（新しい順）', 'Timeline, newest first')}</h2>
        ${table(
          [
            label('イベント', 'Event'),
            label('受信', 'Received'),
            label('発生', 'Occurred'),
            label('種類', 'Type'),
            label('結果', 'Outcome'),
            label('監査アクション', 'Audit action'),
            label('ステータス変化', 'Status change'),
            label('詳細', 'Details'),
          ],
          rows,
          label('イベントはありません', 'No events'),
        )}
      </section>`,
  );
}

export function notFoundPage(accountId: string): string {
  return page(
    'アカウントが見つかりません / Account not found',
    html`<section>
      <h2>${label('アカウントが見つかりません', 'Account not found')}</h2>
      <p><code>${accountId}</code>: ${label('請求レコードがありません', 'no billing record')}.</p>
    </section>`,
  );
}
