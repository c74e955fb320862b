import { MYASP_FIELD_NAMES } from '../../src/domain/myasp/fields';
import { parseMyaspTimestamp } from '../../src/domain/myasp/timestamp';
import { normalizeMyaspEvent } from '../../src/domain/normalize-myasp';
import { sha256Hex } from '../../src/http/digest';
import { thrown } from '../helpers/errors';

const RECEIVED_AT = new Date('2026-03-10T05:06:07.890Z');

const normalize = (fields: Record<string, unknown>, receivedAt: Date) =>
  normalizeMyaspEvent(fields, receivedAt, sha256Hex);

function post(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { user_id: '10042', status: '1', ...overrides };
}

describe('normalizeMyaspEvent: a complete post', () => {
  test('when every field is sent, then the normalized event carries all of them', () => {
    const event = normalize(
      {
        user_id: ' 10042 ',
        email: 'taro.yamada@example.co.jp',
        plan: 'プレミアム会員',
        amount: '1,980',
        status: '2',
        ts: '2026-03-10 14:00:00',
        event_id: 'evt-778',
      },
      RECEIVED_AT,
    );
    expect(event).toEqual({
      source: 'myasp',
      dedupe_key: 'myasp:evt-778',
      event_type: 'myasp.stopped',
      occurred_at: '2026-03-10T05:00:00.000Z',
      object_key: 'myasp:10042',
      data: {
        kind: 'myasp.status_changed',
        myasp_user_id: '10042',
        provider_status: '2',
        email: 'taro.yamada@example.co.jp',
        plan: 'プレミアム会員',
        amount: 1980,
      },
      account_hint: { explicit_account_id: null, stripe_customer_id: null, myasp_user_id: '10042' },
    });
  });

  test('when only user_id and status are sent, then the optional fields are null and occurred_at is the receive time', () => {
    const event = normalize(post(), RECEIVED_AT);
    expect(event.data).toEqual({
      kind: 'myasp.status_changed',
      myasp_user_id: '10042',
      provider_status: '1',
      email: null,
      plan: null,
      amount: null,
    });
    expect(event.occurred_at).toBe(RECEIVED_AT.toISOString());
  });
});

describe('normalizeMyaspEvent: statuses', () => {
  test.each([
    { status: '1', eventType: 'myasp.registered', code: '1' },
    { status: '2', eventType: 'myasp.stopped', code: '2' },
    { status: '3', eventType: 'myasp.revived', code: '3' },
    { status: '4', eventType: 'myasp.cancelled', code: '4' },
    { status: 1, eventType: 'myasp.registered', code: '1' },
    { status: 4, eventType: 'myasp.cancelled', code: '4' },
    { status: ' 3 ', eventType: 'myasp.revived', code: '3' },
    { status: '03', eventType: 'myasp.revived', code: '3' },
    { status: '２', eventType: 'myasp.stopped', code: '2' },
  ])(
    'when status is $status, then the event is $eventType with provider_status $code',
    ({ status, eventType, code }) => {
      const event = normalize(post({ status }), RECEIVED_AT);
      expect(event.event_type).toBe(eventType);
      expect(event.data).toMatchObject({ provider_status: code });
    },
  );
});

describe('normalizeMyaspEvent: aliases and lenient values', () => {
  test.each([
    {
      name: 'the user id comes as myasp_user_id',
      fields: { myasp_user_id: 'u-7', status: '1' },
      path: 'myasp_user_id',
      value: 'u-7',
    },
    {
      name: 'the user id is a JSON number',
      fields: { user_id: 42, status: 1 },
      path: 'myasp_user_id',
      value: '42',
    },
    {
      name: 'user_id and myasp_user_id agree',
      fields: post({ myasp_user_id: '10042' }),
      path: 'myasp_user_id',
      value: '10042',
    },
    {
      name: 'user_id is blank but myasp_user_id is set',
      fields: { user_id: ' ', myasp_user_id: '9', status: '1' },
      path: 'myasp_user_id',
      value: '9',
    },
    {
      name: 'the email comes as mail',
      fields: post({ mail: 'hanako@example.jp' }),
      path: 'email',
      value: 'hanako@example.jp',
    },
    {
      name: 'both email and mail are sent',
      fields: post({ email: 'a@example.jp', mail: 'b@example.jp' }),
      path: 'email',
      value: 'a@example.jp',
    },
    { name: 'the email is blank', fields: post({ email: '  ' }), path: 'email', value: null },
    {
      name: 'the email has a plus tag and capitals',
      fields: post({ email: 'Taro+Bill@Example.JP' }),
      path: 'email',
      value: 'Taro+Bill@Example.JP',
    },
    {
      name: 'the plan has spaces around it',
      fields: post({ plan: '  ゴールド  ' }),
      path: 'plan',
      value: 'ゴールド',
    },
    { name: 'the plan is null', fields: post({ plan: null }), path: 'plan', value: null },
  ])('when $name, then data.$path is $value', ({ fields, path, value }) => {
    const event = normalize(fields, RECEIVED_AT);
    expect((event.data as unknown as Record<string, unknown>)[path]).toBe(value);
  });

  test.each([
    { amount: '1980', expected: 1980 },
    { amount: '1,980', expected: 1980 },
    { amount: '12,345,678', expected: 12345678 },
    { amount: '¥1,980', expected: 1980 },
    { amount: '￥１，９８０', expected: 1980 },
    { amount: '1,980円', expected: 1980 },
    { amount: '\\1,980', expected: 1980 },
    { amount: 1980, expected: 1980 },
    { amount: '0', expected: 0 },
    { amount: '', expected: null },
  ])('when amount is $amount, then data.amount is $expected', ({ amount, expected }) => {
    expect(normalize(post({ amount }), RECEIVED_AT).data).toMatchObject({
      amount: expected,
    });
  });

  test('when the account hint is built, then it names the MyASP user only', () => {
    const { account_hint, object_key } = normalize(post({ user_id: 'abc' }), RECEIVED_AT);
    expect(account_hint).toEqual({
      explicit_account_id: null,
      stripe_customer_id: null,
      myasp_user_id: 'abc',
    });
    expect(object_key).toBe('myasp:abc');
  });

  test('when the field names are listed for duplicate checks, then every alias is included', () => {
    expect([...MYASP_FIELD_NAMES].sort()).toEqual(
      [
        'amount',
        'email',
        'event_id',
        'mail',
        'myasp_user_id',
        'plan',
        'status',
        'ts',
        'user_id',
      ].sort(),
    );
  });
});

describe('normalizeMyaspEvent: refusals', () => {
  test.each([
    { name: 'there is no user id', fields: { status: '1' }, code: 'missing_user_id' },
    { name: 'the user id is blank', fields: post({ user_id: '   ' }), code: 'missing_user_id' },
    { name: 'the user id is null', fields: post({ user_id: null }), code: 'missing_user_id' },
    {
      name: 'the user id is 129 characters',
      fields: post({ user_id: 'u'.repeat(129) }),
      code: 'invalid_user_id',
    },
    {
      name: 'the user id has a control character',
      fields: post({ user_id: 'a\u0001b' }),
      code: 'invalid_user_id',
    },
    {
      name: 'the user id is an object',
      fields: post({ user_id: { id: 1 } }),
      code: 'invalid_user_id',
    },
    {
      name: 'user_id and myasp_user_id disagree',
      fields: post({ myasp_user_id: '999' }),
      code: 'conflicting_user_id',
    },
    { name: 'there is no status', fields: { user_id: '1' }, code: 'missing_status' },
    { name: 'the status is blank', fields: post({ status: '' }), code: 'missing_status' },
    { name: 'the status is a word', fields: post({ status: 'active' }), code: 'invalid_status' },
    { name: 'the status is 1.5', fields: post({ status: '1.5' }), code: 'invalid_status' },
    { name: 'the status is the number 1.5', fields: post({ status: 1.5 }), code: 'invalid_status' },
    { name: 'the status is a boolean', fields: post({ status: true }), code: 'invalid_status' },
    { name: 'the status is a list', fields: post({ status: ['1', '4'] }), code: 'invalid_status' },
    { name: 'the status is 0', fields: post({ status: '0' }), code: 'unknown_status' },
    { name: 'the status is 5', fields: post({ status: '5' }), code: 'unknown_status' },
    { name: 'the status is the number 9', fields: post({ status: 9 }), code: 'unknown_status' },
    { name: 'ts is a word', fields: post({ ts: 'yesterday' }), code: 'invalid_timestamp' },
    {
      name: 'ts is an impossible date',
      fields: post({ ts: '2026-02-30 10:00:00' }),
      code: 'invalid_timestamp',
    },
    {
      name: 'ts is before 2000',
      fields: post({ ts: '1999-12-31 10:00:00' }),
      code: 'invalid_timestamp',
    },
    {
      name: 'ts is two days after the receive time',
      fields: post({ ts: '2026-03-12T06:00:00Z' }),
      code: 'invalid_timestamp',
    },
    { name: 'the amount is negative', fields: post({ amount: '-1' }), code: 'invalid_amount' },
    { name: 'the amount has decimals', fields: post({ amount: '19.80' }), code: 'invalid_amount' },
    {
      name: 'the amount uses a dot as a thousands separator',
      fields: post({ amount: '1.980' }),
      code: 'invalid_amount',
    },
    {
      name: 'the amount has a wrong grouping',
      fields: post({ amount: '1,98' }),
      code: 'invalid_amount',
    },
    { name: 'the amount is a word', fields: post({ amount: 'free' }), code: 'invalid_amount' },
    { name: 'the amount is the number -5', fields: post({ amount: -5 }), code: 'invalid_amount' },
    {
      name: 'the amount is beyond safe integers',
      fields: post({ amount: '99999999999999999' }),
      code: 'invalid_amount',
    },
    {
      name: 'the email has no @',
      fields: post({ email: 'taro.example.jp' }),
      code: 'invalid_email',
    },
    {
      name: 'the email has nothing before @',
      fields: post({ email: '@example.jp' }),
      code: 'invalid_email',
    },
    {
      name: 'the email has nothing after @',
      fields: post({ email: 'taro@' }),
      code: 'invalid_email',
    },
    {
      name: 'the email contains a space',
      fields: post({ email: 'taro yamada@example.jp' }),
      code: 'invalid_email',
    },
    { name: 'the mail alias is broken', fields: post({ mail: 'nope' }), code: 'invalid_email' },
    {
      name: 'the plan is 257 characters',
      fields: post({ plan: 'p'.repeat(257) }),
      code: 'invalid_plan',
    },
    {
      name: 'the event id has a newline',
      fields: post({ event_id: 'evt\n1' }),
      code: 'invalid_event_id',
    },
  ])('when $name, then it is refused with 400 $code', ({ fields, code }) => {
    const err = thrown(() => normalize(fields, RECEIVED_AT));
    expect({ code: err.code, status: err.status }).toEqual({ code, status: 400 });
    expect(err.message).toMatch(/\.$/);
  });

  test('when the status is unknown, then the message lists the valid codes', () => {
    expect(thrown(() => normalize(post({ status: '7' }), RECEIVED_AT)).message).toBe(
      'MyASP status 7 is unknown. Expected 1 (registered), 2 (stopped), 3 (revived) or 4 (cancelled).',
    );
  });
});

describe('normalizeMyaspEvent: dedupe keys', () => {
  const key = (fields: Record<string, unknown>, receivedAt = RECEIVED_AT) =>
    normalize(fields, receivedAt).dedupe_key;
  const later = (ms: number) => new Date(RECEIVED_AT.getTime() + ms);
  const withTs = post({
    ts: '2026-03-10 14:00:00',
    plan: 'ゴールド',
    amount: '1980',
    email: 'a@example.jp',
  });

  test('when event_id is sent, then the key is myasp:<event_id>', () => {
    expect(key(post({ event_id: 'evt-1' }))).toBe('myasp:evt-1');
  });

  test('when there is no event_id, then the key is a SHA-256 of the content', () => {
    expect(key(withTs)).toMatch(/^myasp:sha256:[0-9a-f]{64}$/);
  });

  test.each([
    {
      name: 'the same post arrives again an hour later',
      a: withTs,
      b: withTs,
      bAt: later(3_600_000),
    },
    {
      name: 'the amount is written 1,980 instead of 1980',
      a: withTs,
      b: { ...withTs, amount: '1,980' },
      bAt: RECEIVED_AT,
    },
    {
      name: 'status is a number instead of text',
      a: withTs,
      b: { ...withTs, status: 1 },
      bAt: RECEIVED_AT,
    },
    {
      name: 'ts names the same instant in UTC',
      a: withTs,
      b: { ...withTs, ts: '2026-03-10T05:00:00Z' },
      bAt: RECEIVED_AT,
    },
    {
      name: 'mail is used instead of email',
      a: withTs,
      b: { ...withTs, email: undefined, mail: 'a@example.jp' },
      bAt: RECEIVED_AT,
    },
    {
      name: 'there is no ts and the repeat lands in the same second',
      a: post(),
      b: post(),
      bAt: later(100),
    },
  ])('when $name, then the key is the same', ({ a, b, bAt }) => {
    expect(key(b, bAt)).toBe(key(a));
  });

  test.each([
    { name: 'the status differs', a: withTs, b: { ...withTs, status: '2' }, bAt: RECEIVED_AT },
    { name: 'the user differs', a: withTs, b: { ...withTs, user_id: '10043' }, bAt: RECEIVED_AT },
    { name: 'the plan differs', a: withTs, b: { ...withTs, plan: 'シルバー' }, bAt: RECEIVED_AT },
    { name: 'the amount differs', a: withTs, b: { ...withTs, amount: '2980' }, bAt: RECEIVED_AT },
    {
      name: 'the email differs',
      a: withTs,
      b: { ...withTs, email: 'b@example.jp' },
      bAt: RECEIVED_AT,
    },
    {
      name: 'ts differs by one second',
      a: withTs,
      b: { ...withTs, ts: '2026-03-10 14:00:01' },
      bAt: RECEIVED_AT,
    },
    {
      name: 'there is no ts and the next post comes a second later',
      a: post(),
      b: post(),
      bAt: later(1_000),
    },
  ])('when $name, then the key differs', ({ a, b, bAt }) => {
    expect(key(b, bAt)).not.toBe(key(a));
  });
});

describe('parseMyaspTimestamp', () => {
  test.each([
    { raw: '2026-03-10T14:00:00+09:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026-03-10T05:00:00Z', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026-03-10T05:00:00.123456Z', iso: '2026-03-10T05:00:00.123Z' },
    { raw: '2026-03-10T00:00:00-05:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026-03-10T14:00:00+0900', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026-03-10T14:00:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026-03-10 14:00:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026-03-10 14:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026/03/10 14:00:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026/03/10 14:00', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '2026/3/1 9:05', iso: '2026-03-01T00:05:00.000Z' },
    { raw: '2026-01-01 08:59:59', iso: '2025-12-31T23:59:59.000Z' },
    { raw: '2026-03-10', iso: '2026-03-09T15:00:00.000Z' },
    { raw: '2028-02-29 00:00:00', iso: '2028-02-28T15:00:00.000Z' },
    { raw: '２０２６／０３／１０　１４：００', iso: '2026-03-10T05:00:00.000Z' },
    { raw: ' 2026-03-10 14:00:00 ', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '1773118800', iso: '2026-03-10T05:00:00.000Z' },
    { raw: '1773118800123', iso: '2026-03-10T05:00:00.123Z' },
  ])('when ts is "$raw", then it is $iso', ({ raw, iso }) => {
    expect(parseMyaspTimestamp(raw)?.toISOString()).toBe(iso);
  });

  test.each([
    '',
    'yesterday',
    '2026-02-30 10:00:00',
    '2026-02-29 10:00:00',
    '2026-13-01 10:00:00',
    '2026-04-31',
    '2026-03-10 24:00:00',
    '2026-03-10 14:60:00',
    '2026-03-10 14:00:60',
    '2026-03-10T14:00:00+15:00',
    '2026-03/10 14:00',
    '1999-12-31 23:59:59',
    '2101-01-01 00:00:00',
    '946684799',
    '123456789012',
    '9999999999',
    '1773118800.5',
    '10/03/2026 14:00',
  ])('when ts is "%s", then it is not a timestamp', (raw) => {
    expect(parseMyaspTimestamp(raw)).toBeNull();
  });
});
