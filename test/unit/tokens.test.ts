import { matchingToken, tokensEqual } from '../../src/http/tokens';
import { resolveMyaspToken, verifyMyaspToken } from '../../src/http/webhooks-myasp';
import { thrown } from '../helpers/errors';

const TOKEN = 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const OTHER = 'tok_00000000000000000000000000000000';

describe('tokensEqual', () => {
  test.each([
    { name: 'the tokens are identical', given: TOKEN, expected: TOKEN, equal: true },
    {
      name: 'they differ in the last character',
      given: TOKEN.slice(0, -1) + '1',
      expected: TOKEN,
      equal: false,
    },
    { name: 'the given one is a prefix', given: TOKEN.slice(0, 10), expected: TOKEN, equal: false },
    { name: 'the given one is longer', given: TOKEN + 'x', expected: TOKEN, equal: false },
    { name: 'the given one is empty', given: '', expected: TOKEN, equal: false },
    {
      name: 'both are the same non-ASCII text',
      given: 'トークン',
      expected: 'トークン',
      equal: true,
    },
  ])('when $name, then the result is $equal', ({ given, expected, equal }) => {
    expect(tokensEqual(given, expected)).toBe(equal);
  });
});

describe('resolveMyaspToken', () => {
  test.each([
    { name: 'only the query has it', query: { token: TOKEN }, header: undefined },
    { name: 'only the header has it', query: {}, header: TOKEN },
    { name: 'both have the same token', query: { token: TOKEN }, header: TOKEN },
    { name: 'the query token is empty but the header has it', query: { token: '' }, header: TOKEN },
    { name: 'there is no query object at all', query: undefined, header: TOKEN },
    { name: 'the header has surrounding spaces', query: {}, header: `  ${TOKEN} ` },
  ])('when $name, then that token is used', ({ query, header }) => {
    expect(resolveMyaspToken(query, header)).toEqual({ token: TOKEN });
  });

  test.each([
    {
      name: 'neither query nor header has it',
      query: {},
      header: undefined,
      code: 'missing_token',
    },
    {
      name: 'the query token is empty',
      query: { token: '' },
      header: undefined,
      code: 'missing_token',
    },
    { name: 'the header is blank', query: null, header: '   ', code: 'missing_token' },
    {
      name: 'query and header disagree',
      query: { token: TOKEN },
      header: OTHER,
      code: 'token_mismatch',
    },
    {
      name: 'the query parameter is repeated',
      query: { token: [TOKEN, OTHER] },
      header: undefined,
      code: 'invalid_token',
    },
    {
      name: 'the query parameter is an object',
      query: { token: { a: TOKEN } },
      header: undefined,
      code: 'invalid_token',
    },
    { name: 'the header is repeated', query: {}, header: [TOKEN, OTHER], code: 'invalid_token' },
  ])('when $name, then it is refused with 401 $code', ({ query, header, code }) => {
    const err = thrown(() => resolveMyaspToken(query, header));
    expect({ code: err.code, status: err.status }).toEqual({ code, status: 401 });
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain(OTHER);
  });

  test('when the token is missing, then the message says where to send it', () => {
    expect(thrown(() => resolveMyaspToken({}, undefined)).message).toBe(
      'The MyASP token is missing. Send it as the token query parameter or the X-MyASP-Token header.',
    );
  });
});

describe('verifyMyaspToken', () => {
  test.each([
    { name: 'the token is the configured one', given: TOKEN, expected: [TOKEN] },
    {
      name: 'the token is the second of two during a rotation',
      given: TOKEN,
      expected: [OTHER, TOKEN],
    },
    { name: 'the configured token has stray spaces', given: TOKEN, expected: [` ${TOKEN} `] },
  ])('when $name, then it is accepted', ({ given, expected }) => {
    expect(() => verifyMyaspToken(given, expected)).not.toThrow();
  });

  const wrong = thrown(() => verifyMyaspToken(OTHER, [TOKEN]));
  test.each([
    { name: 'the token is wrong', given: OTHER },
    { name: 'the token is too short', given: TOKEN.slice(0, 5) },
    { name: 'the token is too long', given: TOKEN + TOKEN },
    { name: 'the token differs only in case', given: TOKEN.toUpperCase() },
  ])('when $name, then it is refused with 401 invalid_token and the same message', ({ given }) => {
    const err = thrown(() => verifyMyaspToken(given, [TOKEN]));
    expect({ code: err.code, status: err.status, message: err.message }).toEqual({
      code: 'invalid_token',
      status: 401,
      message: wrong.message,
    });
    expect(err.message).not.toContain(given);
    expect(JSON.stringify(err.details)).not.toContain(given);
  });

  test.each([
    { name: 'no token is configured', expected: [] },
    { name: 'only blank tokens are configured', expected: ['', '  '] },
  ])('when $name, then it fails as a server misconfiguration (500)', ({ expected }) => {
    const err = thrown(() => verifyMyaspToken(TOKEN, expected));
    expect({ code: err.code, status: err.status }).toEqual({
      code: 'myasp_not_configured',
      status: 500,
    });
  });
});

describe('matchingToken', () => {
  const ROTATION = [TOKEN, OTHER];
  test.each([
    { name: 'the first token of a rotation', given: TOKEN, index: 0 },
    { name: 'the second token of a rotation', given: OTHER, index: 1 },
    { name: 'a prefix of one', given: TOKEN.slice(0, 12), index: -1 },
    { name: 'one with a character more', given: `${OTHER}0`, index: -1 },
    { name: 'an empty token', given: '', index: -1 },
  ])('when given $name, then its index is $index', ({ given, index }) => {
    expect(matchingToken(given, ROTATION)).toBe(index);
  });

  it('when no token is configured, then nothing matches', () => {
    expect(matchingToken(TOKEN, [])).toBe(-1);
  });
});
