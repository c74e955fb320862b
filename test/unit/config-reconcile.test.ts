// Reconciliation settings: when the daily Stripe reconciliation runs (RECONCILE_SCHEDULE,
// RECONCILE_TIMEZONE), and the one-line errors a wrong setting gives before anything starts.
import { loadConfig, loadReconcileSettings } from '../../src/config';
import { configErrorMessage } from '../helpers/errors';

const message = configErrorMessage;

describe('reconciliation schedule settings', () => {
  it('when nothing is set, then the schedule is daily at 03:30 in Asia/Tokyo', () => {
    expect(loadReconcileSettings({}).schedule).toEqual({
      kind: 'daily',
      hour: 3,
      minute: 30,
      timezone: 'Asia/Tokyo',
      text: '03:30 Asia/Tokyo',
    });
  });

  it('when a time of day and a time zone are set, then the schedule runs then', () => {
    expect(
      loadReconcileSettings({ RECONCILE_SCHEDULE: '4:05', RECONCILE_TIMEZONE: 'UTC' }).schedule,
    ).toEqual({ kind: 'daily', hour: 4, minute: 5, timezone: 'UTC', text: '04:05 UTC' });
  });

  it('when a cron spec is set, then it is kept as a cron expression in the time zone', () => {
    expect(loadReconcileSettings({ RECONCILE_SCHEDULE: '15 2 * * 1-5' }).schedule).toEqual({
      kind: 'cron',
      expression: '15 2 * * 1-5',
      timezone: 'Asia/Tokyo',
      text: 'cron "15 2 * * 1-5" Asia/Tokyo',
    });
  });

  it('when RECONCILE_SCHEDULE is off, then there is no schedule', () => {
    expect(loadReconcileSettings({ RECONCILE_SCHEDULE: 'off' }).schedule).toBeNull();
  });

  it.each([
    [
      '25:00',
      'RECONCILE_SCHEDULE "25:00" is neither a time of day (HH:MM, e.g. 03:30) nor a cron spec of five fields (e.g. "30 3 * * *"), nor off.',
    ],
    [
      'every day',
      'RECONCILE_SCHEDULE "every day" is neither a time of day (HH:MM, e.g. 03:30) nor a cron spec of five fields (e.g. "30 3 * * *"), nor off.',
    ],
  ])('when RECONCILE_SCHEDULE is %s, then one line says what is accepted', (value, expected) => {
    expect(message(() => loadReconcileSettings({ RECONCILE_SCHEDULE: value }))).toBe(expected);
  });

  it('when the time zone is unknown, then one line says so', () => {
    expect(message(() => loadReconcileSettings({ RECONCILE_TIMEZONE: 'Asia/Tokio' }))).toBe(
      'RECONCILE_TIMEZONE "Asia/Tokio" is not an IANA time zone; use a name like Asia/Tokyo or UTC.',
    );
  });

  it('when the service configuration is loaded, then it carries the reconciliation settings', () => {
    const config = loadConfig({
      ADMIN_TOKEN: 'admin-token-0123456789',
      MYASP_TOKEN: 'myasp-token-0123456789',
      STRIPE_API_KEY: 'sk_test_123',
      STRIPE_API_URL: 'http://127.0.0.1:12111',
    });
    expect(config.reconcile).toMatchObject({
      stripeApiKey: 'sk_test_123',
      stripeApiUrl: 'http://127.0.0.1:12111',
      concurrency: 4,
      schedule: { kind: 'daily', text: '03:30 Asia/Tokyo' },
    });
  });
});
