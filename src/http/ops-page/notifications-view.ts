// The operator page's notifications section (SPEC §10): each endpoint's health, from the daily
// check's `notifications` item, and the messages that ran out of retries.
import type { MessageRow } from '../../db/queries/notifications';
import type { DailyCheckResult } from '../../ops/daily-check';
import { type Html, html, label, stateBadge, table } from './html';

interface EndpointValue {
  id: string;
  url: string;
  disabled_at: string | null;
  disabled_reason: string | null;
  pending: number;
  failed: number;
  oldest_pending_at: string | null;
  last_status: number | null;
}

export function notificationsSection(check: DailyCheckResult, failed: MessageRow[]): Html {
  const item = check.items.find((i) => i.name === 'notifications');
  const endpoints = ((item?.value ?? {}) as { endpoints?: EndpointValue[] }).endpoints ?? [];
  const health = (e: EndpointValue) =>
    e.disabled_at
      ? html`${stateBadge('fail')} ${label('停止', 'disabled')}: ${e.disabled_reason ?? ''}`
      : e.failed > 0
        ? html`${stateBadge('fail')} ${label('失敗あり', 'failed messages')}`
        : html`${stateBadge('ok')}`;
  return html`<section id="notifications">
    <h2>${label('ホストアプリへの通知', 'Notifications to the host app')}</h2>
    ${table(
      [
        label('エンドポイント', 'Endpoint'),
        label('URL', 'URL'),
        label('状態', 'Health'),
        label('未配信', 'Pending'),
        label('失敗', 'Failed'),
        label('最古の未配信', 'Oldest undelivered'),
        label('最終応答', 'Last answer'),
      ],
      endpoints.map((e) => [
        html`<code>${e.id}</code>`,
        e.url,
        health(e),
        e.pending,
        e.failed,
        e.oldest_pending_at ?? '—',
        e.last_status ?? '—',
      ]),
      label('通知先はありません', 'No notification endpoint'),
    )}
    <h3>${label('再送が尽きた通知', 'Messages that ran out of retries')}</h3>
    ${table(
      [
        label('エンドポイント', 'Endpoint'),
        label('変更ID', 'Change id'),
        label('アカウント', 'Account'),
        label('番号', 'Seq'),
        label('試行', 'Attempts'),
        label('失敗日時', 'Failed at'),
        label('最後のエラー', 'Last error'),
      ],
      failed.map((m) => [
        html`<code>${m.endpoint_id}</code>`,
        html`<code>${m.change_id}</code>`,
        html`<a href="/ops/accounts/${encodeURIComponent(m.account_id)}">${m.account_id}</a>`,
        m.seq,
        m.attempts,
        m.failed_at,
        m.last_error ?? '',
      ]),
      label(
        '失敗した通知はありません',
        'No failed message (npm run ops -- notifications retry sends them again)',
      ),
    )}
  </section>`;
}
