import net from 'node:net';

import { findFreePort } from '../../src/dev/local-stack';
import { resolveTemporalCli, resolveTestServer } from '../../src/temporal/binaries';
import {
  BILLING_SEARCH_ATTRIBUTES,
  ensureSearchAttributes,
} from '../../src/temporal/search-attributes';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import {
  connectToDevServer,
  createTimeSkippingEnv,
  type DevServerClient,
} from '../helpers/temporal';

describe('local stack used by the test suite', () => {
  describe('PostgreSQL cloned from the migrated template', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db.drop();
    });

    it('when queried, then it answers', async () => {
      const { rows } = await db.pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    });

    it('when cloned, then it already has the tables of SPEC §5', async () => {
      const { rows } = await db.pool.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      const tables = rows.map((row) => row.table_name);
      expect(tables).toEqual(
        expect.arrayContaining([
          'billing_events',
          'billing_accounts',
          'audit_logs',
          'webhook_rejections',
        ]),
      );
    });

    it('when two databases are cloned, then each has its own rows', async () => {
      const other = await createTestDatabase();
      try {
        await db.pool.query('CREATE TABLE only_here (x int)');
        const { rows } = await other.pool.query<{ found: string | null }>(
          `SELECT to_regclass('public.only_here')::text AS found`,
        );
        expect(rows[0]?.found).toBeNull();
      } finally {
        await other.drop();
      }
    });

    it('when storing Japanese text, then the database encoding keeps it', async () => {
      const { rows } = await db.pool.query<{ v: string; enc: string }>(
        `SELECT $1::text AS v, current_setting('server_encoding') AS enc`,
        ['請求 テスト'],
      );
      expect(rows[0]).toEqual({ v: '請求 テスト', enc: 'UTF8' });
    });
  });

  describe('Temporal dev server', () => {
    let temporal: DevServerClient;
    beforeAll(async () => {
      temporal = await connectToDevServer();
    });
    afterAll(async () => {
      await temporal.close();
    });

    it('when asked, then it reports its system info', async () => {
      const info = await temporal.connection.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
    });

    it('when started, then the billing search attributes are registered', async () => {
      const { customAttributes } = await temporal.connection.operatorService.listSearchAttributes({
        namespace: temporal.namespace,
      });
      expect(Object.keys(customAttributes ?? {})).toEqual(
        expect.arrayContaining(Object.keys(BILLING_SEARCH_ATTRIBUTES)),
      );
    });

    it('when the attributes already exist, then ensureSearchAttributes changes nothing', async () => {
      await expect(
        ensureSearchAttributes(temporal.connection, temporal.namespace),
      ).resolves.toBeUndefined();
    });
  });

  describe('time-skipping test server', () => {
    it('when created, then it starts and skips time', async () => {
      const env = await createTimeSkippingEnv();
      try {
        expect(env.supportsTimeSkipping).toBe(true);
        const before = await env.currentTimeMs();
        await env.sleep('1 day');
        expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(86_400_000);
      } finally {
        await env.teardown();
      }
    });
  });

  describe('helpers', () => {
    it('when the binaries were installed by `npm run setup`, then both are found', () => {
      expect(resolveTemporalCli()).toMatch(/temporal$/);
      expect(resolveTestServer()).toMatch(/temporal-test-server$/);
    });

    it('when asked for a free port, then nothing listens there', async () => {
      const port = await findFreePort();
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.once('connect', () => resolve(false));
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    });
  });
});
