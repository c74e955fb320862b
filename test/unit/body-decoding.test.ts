import iconv from 'iconv-lite';

import { parseContentType } from '../../src/http/body-decoding/content-type';
import { decodeFormBody } from '../../src/http/body-decoding/form';
import { decodeJsonBody } from '../../src/http/body-decoding/json';
import { containsNul, containsUnstorableText } from '../../src/http/body-decoding/unstorable-text';
import { percentEncode } from '../helpers/encoding';
import { thrown } from '../helpers/errors';

const sjis = (text: string) => percentEncode(iconv.encode(text, 'cp932'));
const eucJp = (text: string) => percentEncode(iconv.encode(text, 'euc-jp'));
const utf8 = (text: string) => percentEncode(Buffer.from(text, 'utf8'));
// "山田" in ISO-2022-JP: ESC $ B, two JIS X 0208 characters, ESC ( B.
const ISO_2022_JP_YAMADA = '%1B%24B%3B3ED%1B%28B';

const PLAN = 'プレミアム会員';
const NAME = '山田太郎';
const EMAIL = 'taro.yamada@example.co.jp';

const form = (text: string) => Buffer.from(text, 'latin1');

describe('parseContentType', () => {
  test.each([
    { header: undefined, mediaType: '', charset: null },
    { header: '', mediaType: '', charset: null },
    {
      header: 'application/x-www-form-urlencoded',
      mediaType: 'application/x-www-form-urlencoded',
      charset: null,
    },
    {
      header: 'application/x-www-form-urlencoded; charset=Shift_JIS',
      mediaType: 'application/x-www-form-urlencoded',
      charset: 'shift_jis',
    },
    { header: 'Application/JSON;Charset="UTF-8"', mediaType: 'application/json', charset: 'utf-8' },
    {
      header: 'application/json; foo=bar; charset=utf-8',
      mediaType: 'application/json',
      charset: 'utf-8',
    },
    { header: 'text/plain; charset=', mediaType: 'text/plain', charset: null },
    { header: '  application/json  ', mediaType: 'application/json', charset: null },
  ])(
    'when the header is $header, then the media type is "$mediaType" and the charset $charset',
    ({ header, mediaType, charset }) => {
      expect(parseContentType(header)).toEqual({ mediaType, charset });
    },
  );
});

describe('decodeFormBody: decoding', () => {
  test.each([
    {
      name: 'plain ASCII fields arrive',
      body: 'user_id=42&status=1',
      charset: null,
      expected: { user_id: '42', status: '1' },
    },
    {
      name: '+ and %20 are spaces and %2B is a plus',
      body: 'a=x+y&b=x%20y&c=1%2B1',
      charset: 'utf-8',
      expected: { a: 'x y', b: 'x y', c: '1+1' },
    },
    {
      name: 'lower-case hex escapes are used',
      body: 'a=%e5%b1%b1',
      charset: 'utf-8',
      expected: { a: '山' },
    },
    { name: 'the body is empty', body: '', charset: null, expected: {} },
    {
      name: 'there are empty pieces (&&, trailing &)',
      body: '&a=1&&b=2&',
      charset: null,
      expected: { a: '1', b: '2' },
    },
    { name: 'a field has no =', body: 'flag&a=1', charset: null, expected: { flag: '', a: '1' } },
    { name: 'a value contains =', body: 'a=b=c', charset: null, expected: { a: 'b=c' } },
    {
      name: 'a key is repeated, the last value wins',
      body: 'note=first&note=second',
      charset: null,
      expected: { note: 'second' },
    },
  ])('when $name, then the fields are decoded', ({ body, charset, expected }) => {
    expect(decodeFormBody(form(body), charset)).toEqual(expected);
  });

  test.each([
    'shift_jis',
    'Shift_JIS',
    'shift-jis',
    'sjis',
    'x-sjis',
    'windows-31j',
    'cp932',
    'ms932',
  ])(
    'when Shift_JIS bytes are percent-encoded and the charset is %s, then the Japanese text is decoded exactly',
    (charset) => {
      const body = `user_id=42&plan=${sjis(PLAN)}&name=${sjis(NAME)}&email=${sjis(EMAIL)}`;
      expect(decodeFormBody(form(body), charset)).toEqual({
        user_id: '42',
        plan: PLAN,
        name: NAME,
        email: EMAIL,
      });
    },
  );

  test('when Shift_JIS holds Windows-31J vendor characters (①, ㈱, 髙), then they decode too', () => {
    const text = '①㈱髙橋';
    expect(decodeFormBody(form(`name=${sjis(text)}`), 'shift_jis')).toEqual({ name: text });
  });

  test('when Shift_JIS half-width katakana and a space (+) are sent, then both decode', () => {
    const body = `name=${sjis('ﾔﾏﾀﾞ')}+${sjis('ﾀﾛｳ')}`;
    expect(decodeFormBody(form(body), 'sjis')).toEqual({ name: 'ﾔﾏﾀﾞ ﾀﾛｳ' });
  });

  test('when Shift_JIS bytes are sent raw (not percent-encoded), then they still decode', () => {
    const body = Buffer.concat([Buffer.from('plan='), iconv.encode(PLAN, 'cp932')]);
    expect(decodeFormBody(body, 'shift_jis')).toEqual({ plan: PLAN });
  });

  test('when Shift_JIS field names are Japanese, then the keys decode too', () => {
    expect(decodeFormBody(form(`${sjis('氏名')}=${sjis(NAME)}`), 'shift_jis')).toEqual({
      氏名: NAME,
    });
  });

  test.each([null, 'utf-8', 'UTF-8', 'utf8'])(
    'when the same text is UTF-8 and the charset is %s, then it decodes exactly',
    (charset) => {
      const body = `plan=${utf8(PLAN)}&name=${utf8(NAME)}&email=${utf8(EMAIL)}`;
      expect(decodeFormBody(form(body), charset)).toEqual({ plan: PLAN, name: NAME, email: EMAIL });
    },
  );

  test('when the text is EUC-JP and declared so, then it decodes exactly', () => {
    expect(decodeFormBody(form(`plan=${eucJp(PLAN)}&name=${eucJp(NAME)}`), 'euc-jp')).toEqual({
      plan: PLAN,
      name: NAME,
    });
  });

  test('when the text is ISO-2022-JP and declared so, then it decodes exactly', () => {
    expect(decodeFormBody(form(`name=${ISO_2022_JP_YAMADA}`), 'iso-2022-jp')).toEqual({
      name: '山田',
    });
  });

  test('when a form field is named __proto__, then it is an ordinary field and the prototype is untouched', () => {
    const fields = decodeFormBody(form('__proto__=x&a=1'), null);
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.keys(fields)).toEqual(['__proto__', 'a']);
  });

  test('when a strict key is repeated with the same value, then it is accepted', () => {
    expect(
      decodeFormBody(form('status=1&status=1'), null, { rejectConflictingDuplicates: ['status'] }),
    ).toEqual({ status: '1' });
  });

  test('when exactly maxFields fields are sent, then they are accepted', () => {
    const body = Array.from({ length: 50 }, (_, i) => `f${i}=${i}`).join('&');
    expect(Object.keys(decodeFormBody(form(body), null))).toHaveLength(50);
  });
});

describe('decodeFormBody: refusals', () => {
  const fiftyOne = Array.from({ length: 51 }, (_, i) => `f${i}=${i}`).join('&');
  test.each([
    {
      name: 'Shift_JIS bytes are declared UTF-8',
      body: `plan=${sjis(PLAN)}`,
      charset: 'utf-8',
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'Shift_JIS bytes come with no charset',
      body: `name=${sjis(NAME)}`,
      charset: null,
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'UTF-8 bytes are declared Shift_JIS',
      body: `plan=${utf8(PLAN)}&name=${utf8(NAME)}`,
      charset: 'shift_jis',
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'a Shift_JIS lead byte has no trail byte',
      body: 'name=%8E',
      charset: 'shift_jis',
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'a Shift_JIS body has an undefined byte (0x80)',
      body: 'name=%80',
      charset: 'shift_jis',
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'Shift_JIS bytes are declared EUC-JP',
      body: `name=${sjis(NAME)}`,
      charset: 'euc-jp',
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'a key is not valid UTF-8',
      body: `${sjis('氏名')}=x`,
      charset: 'utf-8',
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'the charset is koi8-r',
      body: 'a=1',
      charset: 'koi8-r',
      code: 'unsupported_charset',
      status: 415,
    },
    {
      name: 'the charset is x-unknown',
      body: 'a=1',
      charset: 'x-unknown',
      code: 'unsupported_charset',
      status: 415,
    },
    {
      name: 'the charset is utf-16',
      body: 'a=1',
      charset: 'utf-16',
      code: 'unsupported_charset',
      status: 415,
    },
    {
      name: 'there are 51 fields',
      body: fiftyOne,
      charset: null,
      code: 'too_many_fields',
      status: 400,
    },
    {
      name: 'a value holds %00',
      body: 'a=x%00y',
      charset: null,
      code: 'invalid_characters',
      status: 400,
    },
    {
      name: 'a key holds %00',
      body: 'a%00=1',
      charset: null,
      code: 'invalid_characters',
      status: 400,
    },
    {
      name: 'a Shift_JIS value holds %00',
      body: `plan=${sjis(PLAN)}%00`,
      charset: 'shift_jis',
      code: 'invalid_characters',
      status: 400,
    },
    {
      name: 'an escape is not hex (%zz)',
      body: 'a=%zz',
      charset: null,
      code: 'malformed_form',
      status: 400,
    },
    {
      name: 'an escape is truncated (%4)',
      body: 'a=%4',
      charset: null,
      code: 'malformed_form',
      status: 400,
    },
    {
      name: 'a lone % ends the body',
      body: 'a=100%',
      charset: null,
      code: 'malformed_form',
      status: 400,
    },
    {
      name: 'a key has a bad escape',
      body: '%g1=1',
      charset: null,
      code: 'malformed_form',
      status: 400,
    },
  ])('when $name, then it is refused with $status $code', ({ body, charset, code, status }) => {
    const err = thrown(() => decodeFormBody(form(body), charset));
    expect({ code: err.code, status: err.status }).toEqual({ code, status });
    expect(err.message).toMatch(/\.$/);
  });

  test('when Shift_JIS is declared UTF-8, then the message tells the sender to declare charset=Shift_JIS', () => {
    const err = thrown(() => decodeFormBody(form(`plan=${sjis(PLAN)}`), 'utf-8'));
    expect(err.message).toContain('charset=Shift_JIS');
    expect(err.message).toContain('"plan"');
  });

  // These UTF-8 bytes are also well-formed Shift_JIS: a naive decoder returns "繧ｴ繝ｼ繝ｫ繝我ｼ壼藤".
  test.each(['ゴールド会員', '山田', '東京都'])(
    'when UTF-8 "%s" (which decodes as Shift_JIS without any error) is declared Shift_JIS, then it is refused, not garbled',
    (text) => {
      expect(iconv.decode(Buffer.from(text, 'utf8'), 'cp932')).not.toContain('\uFFFD');
      const err = thrown(() => decodeFormBody(form(`user_id=42&plan=${utf8(text)}`), 'shift_jis'));
      expect({ code: err.code, status: err.status }).toEqual({
        code: 'invalid_encoding',
        status: 400,
      });
    },
  );

  test('when one field is Shift_JIS and another only happens to be valid UTF-8, then the body is decoded as Shift_JIS', () => {
    // ｿ is 0xBF in Shift_JIS; "ﾃｿ" = C3 BF is also valid UTF-8 ("ÿ"), but the name field is not.
    const body = `kana=${sjis('ﾃｿ')}&name=${sjis(NAME)}`;
    expect(decodeFormBody(form(body), 'shift_jis')).toEqual({ kana: 'ﾃｿ', name: NAME });
  });

  test('when UTF-8 is declared Shift_JIS, then the message tells the sender to declare charset=UTF-8', () => {
    const err = thrown(() => decodeFormBody(form(`plan=${utf8(PLAN)}`), 'shift_jis'));
    expect(err.message).toContain('charset=UTF-8');
  });

  test('when the charset is unsupported, then the message names it and the supported ones', () => {
    const err = thrown(() => decodeFormBody(form('a=1'), 'koi8-r'));
    expect(err.message).toContain('"koi8-r"');
    expect(err.message).toContain('Shift_JIS');
  });

  test('when maxFields is 3 and 4 fields are sent, then too_many_fields names the limit', () => {
    const err = thrown(() => decodeFormBody(form('a=1&b=2&c=3&d=4'), null, { maxFields: 3 }));
    expect(err.code).toBe('too_many_fields');
    expect(err.message).toContain('3');
  });

  test('when a strict key is repeated with different values, then conflicting_fields is raised', () => {
    const err = thrown(() =>
      decodeFormBody(form('status=1&status=4'), null, { rejectConflictingDuplicates: ['status'] }),
    );
    expect({ code: err.code, status: err.status }).toEqual({
      code: 'conflicting_fields',
      status: 400,
    });
  });

  test('when a value is malformed, then the message does not echo the value', () => {
    const err = thrown(() => decodeFormBody(form('secret=s3cr3t%zz'), null));
    expect(err.message).not.toContain('s3cr3t');
  });
});

describe('decodeJsonBody', () => {
  const json = (text: string) => Buffer.from(text, 'utf8');
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  test.each([
    {
      name: 'an object arrives with no charset',
      body: '{"user_id":"42","status":1}',
      charset: null,
      expected: { user_id: '42', status: 1 },
    },
    {
      name: 'the charset is UTF-8 in capitals',
      body: '{"a":1}',
      charset: 'UTF-8',
      expected: { a: 1 },
    },
    { name: 'the charset is utf8', body: '{"a":1}', charset: 'utf8', expected: { a: 1 } },
    {
      name: 'Japanese text is sent',
      body: `{"plan":"${PLAN}"}`,
      charset: 'utf-8',
      expected: { plan: PLAN },
    },
    {
      name: 'a byte order mark leads the body',
      body: '\uFEFF{"a":1}',
      charset: null,
      expected: { a: 1 },
    },
    {
      name: 'brackets sit inside strings',
      body: `{"a":"${'['.repeat(100)}"}`,
      charset: null,
      expected: { a: '['.repeat(100) },
    },
    {
      name: 'escaped quotes sit inside strings',
      body: '{"a":"\\"[[[[\\\\"}',
      charset: null,
      expected: { a: '"[[[[\\' },
    },
    {
      name: 'the nesting is exactly 32 deep',
      body: nested(32),
      charset: null,
      expected: JSON.parse(nested(32)),
    },
    { name: 'a scalar is sent', body: '42', charset: null, expected: 42 },
  ])('when $name, then it is parsed', ({ body, charset, expected }) => {
    expect(decodeJsonBody(json(body), charset)).toEqual(expected);
  });

  test.each([
    {
      name: 'the nesting is 33 deep',
      body: json(nested(33)),
      charset: null,
      code: 'too_deeply_nested',
      status: 400,
    },
    {
      name: 'the nesting is 100000 deep',
      body: json(nested(100_000)),
      charset: null,
      code: 'too_deeply_nested',
      status: 400,
    },
    {
      name: 'objects nest 33 deep',
      body: json('{"a":'.repeat(33) + '1' + '}'.repeat(33)),
      charset: null,
      code: 'too_deeply_nested',
      status: 400,
    },
    {
      name: 'the body is empty',
      body: json(''),
      charset: null,
      code: 'malformed_json',
      status: 400,
    },
    {
      name: 'an object is not closed',
      body: json('{"a":1'),
      charset: null,
      code: 'malformed_json',
      status: 400,
    },
    {
      name: 'keys use single quotes',
      body: json("{'a':1}"),
      charset: null,
      code: 'malformed_json',
      status: 400,
    },
    {
      name: 'there is a trailing comma',
      body: json('{"a":1,}'),
      charset: null,
      code: 'malformed_json',
      status: 400,
    },
    {
      name: 'the body is a form',
      body: json('user_id=42&status=1'),
      charset: null,
      code: 'malformed_json',
      status: 400,
    },
    {
      name: 'the body is Shift_JIS',
      body: Buffer.concat([json('{"plan":"'), iconv.encode(PLAN, 'cp932'), json('"}')]),
      charset: null,
      code: 'invalid_encoding',
      status: 400,
    },
    {
      name: 'the charset is Shift_JIS',
      body: json('{"a":1}'),
      charset: 'shift_jis',
      code: 'unsupported_charset',
      status: 415,
    },
    {
      name: 'the charset is koi8-r',
      body: json('{"a":1}'),
      charset: 'koi8-r',
      code: 'unsupported_charset',
      status: 415,
    },
    {
      name: 'a string value holds \\u0000',
      body: json('{"a":"x\\u0000"}'),
      charset: null,
      code: 'invalid_characters',
      status: 400,
    },
    {
      name: 'a key holds \\u0000',
      body: json('{"\\u0000":1}'),
      charset: null,
      code: 'invalid_characters',
      status: 400,
    },
    {
      name: 'an array deep inside holds \\u0000',
      body: json('{"a":[{"b":["ok","\\u0000"]}]}'),
      charset: null,
      code: 'invalid_characters',
      status: 400,
    },
    {
      name: 'a string holds a lone surrogate',
      body: json('{"a":"\\ud800"}'),
      charset: null,
      code: 'invalid_characters',
      status: 400,
    },
  ])('when $name, then it is refused with $status $code', ({ body, charset, code, status }) => {
    const err = thrown(() => decodeJsonBody(body, charset));
    expect({ code: err.code, status: err.status }).toEqual({ code, status });
  });

  test('when maxDepth is 2, then 3 levels are refused', () => {
    expect(thrown(() => decodeJsonBody(json('[[[1]]]'), null, { maxDepth: 2 })).code).toBe(
      'too_deeply_nested',
    );
  });

  test('when JSON is malformed, then the message does not quote the body', () => {
    const err = thrown(() => decodeJsonBody(json('{"card":"4242424242424242",'), null));
    expect(err.message).not.toContain('4242');
  });
});

describe('containsNul / containsUnstorableText', () => {
  const deep = JSON.parse('['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000)) as unknown;
  test.each([
    { name: 'a plain string', value: 'abc', nul: false, unstorable: false },
    { name: 'a string with NUL', value: 'a\u0000b', nul: true, unstorable: true },
    {
      name: 'numbers, booleans and null',
      value: [1, true, null, undefined],
      nul: false,
      unstorable: false,
    },
    { name: 'NUL in a nested array', value: ['x', ['y', '\u0000']], nul: true, unstorable: true },
    {
      name: 'NUL in a nested object value',
      value: { a: { b: '\u0000' } },
      nul: true,
      unstorable: true,
    },
    { name: 'NUL in a key', value: { 'a\u0000': 1 }, nul: true, unstorable: true },
    { name: 'a lone high surrogate', value: { a: 'x\uD800' }, nul: false, unstorable: true },
    { name: 'a lone low surrogate', value: ['\uDC00x'], nul: false, unstorable: true },
    { name: 'a proper surrogate pair (emoji)', value: { a: '😀' }, nul: false, unstorable: false },
    { name: 'NUL 100000 levels deep', value: deep, nul: true, unstorable: true },
  ])(
    'when the value is $name, then containsNul is $nul and containsUnstorableText is $unstorable',
    ({ value, nul, unstorable }) => {
      expect(containsNul(value)).toBe(nul);
      expect(containsUnstorableText(value)).toBe(unstorable);
    },
  );
});

describe('invalid_encoding names what a MyASP user can set', () => {
  it('when a Shift_JIS form arrives with no charset, then the error names the &charset=Shift_JIS URL option', () => {
    const err = thrown(() => decodeFormBody(form(`plan=${sjis(PLAN)}`), null));
    expect(err).toMatchObject({ code: 'invalid_encoding', status: 400 });
    expect(err.message).toContain('&charset=Shift_JIS');
  });

  it('when UTF-8 bytes arrive declared as Shift_JIS, then the error says to remove &charset=Shift_JIS or declare UTF-8', () => {
    const err = thrown(() => decodeFormBody(form(`plan=${utf8(PLAN)}`), 'shift_jis'));
    expect(err).toMatchObject({ code: 'invalid_encoding', status: 400 });
    expect(err.message).toContain('&charset=Shift_JIS');
    expect(err.message).toMatch(/charset=UTF-8/);
  });
});
