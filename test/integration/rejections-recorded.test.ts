// SPEC §9 "every non-2xx answer is recorded in webhook_rejections": also answers Node's HTTP
// parser gives before express sees the request (431, headers too large), and log lines that
// name the endpoint but never the query (it may hold the MyASP token). Real service, real HTTP.
import { postMyasp } from '../helpers/http';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

describe('Rejected webhooks are recorded and logged by endpoint', () => {
  let service: TestService;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    service = await startService({
      role: 'api',
      onLogLine: (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('when MyASP headers are larger than the server accepts, then 431 headers_too_large as JSON, recorded and counted, without the token', async () => {
    const res = await fetch(`${service.baseUrl}/webhooks/myasp?token=${SECRETS.myasp}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-padding': 'a'.repeat(20_000),
      },
      body: 'user_id=u1&status=1',
    });
    expect(res.status).toBe(431);
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    expect(body.error?.code).toBe('headers_too_large');
    expect(body.error?.message).toMatch(/header/i);

    const rows = await waitFor(
      async () => {
        const r = await service.db.pool.query<Record<string, unknown>>(
          `SELECT source, http_status, reason, message, details::text AS details
             FROM webhook_rejections WHERE http_status = 431`,
        );
        return r.rows.length > 0 ? r.rows : undefined;
      },
      { what: 'the 431 recorded in webhook_rejections' },
    );
    expect(rows).toEqual([
      expect.objectContaining({ source: 'myasp', http_status: 431, reason: 'headers_too_large' }),
    ]);
    expect(JSON.stringify(rows)).not.toContain(SECRETS.myasp);
    const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /^billing_webhook_rejections_total\{source="myasp",reason="headers_too_large"\} 1$/m,
    );
  });

  it('when a MyASP post is refused, then the log line names /webhooks/myasp and never the query', async () => {
    const wrongToken = 'wrong-token-in-the-query-0123456789';
    const r = await postMyasp(service.baseUrl, 'user_id=u1&status=1', { token: wrongToken });
    expect(r.status).toBe(401);
    const refused = await waitFor(
      () =>
        Promise.resolve(
          logLines.find((l) => l.msg === 'request refused' && l.status === 401) ?? undefined,
        ),
      { what: 'the refusal logged' },
    );
    expect(refused).toMatchObject({ method: 'POST', path: '/webhooks/myasp' });
    expect(JSON.stringify(logLines)).not.toContain(wrongToken);
    expect(JSON.stringify(logLines)).not.toContain(SECRETS.myasp);
  });
});
