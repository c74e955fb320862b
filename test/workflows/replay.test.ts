// Determinism guard: every history of the release baseline (test/fixtures/histories, recorded by
// test/workflows/billing-account.test.ts with RECORD_HISTORIES=1) must replay against today's
// workflow code. A change that breaks one needs `patched()` (docs/decisions.md, 2026-12-07), never
// a re-recorded history. The baseline must take every path of the account workflow.
import fs from 'node:fs';
import path from 'node:path';

import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

import { workflowBundle } from '../helpers/workflow-bundle';

const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
const read = (file: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as unknown;

interface HistoryEvent {
  type: string;
  /** Names (activities, signals, updates) and payloads decoded from base64, one per line. */
  text: string;
}

/** Each event of a recorded history with what it names and carries, as text. */
function eventsOf(history: unknown): HistoryEvent[] {
  const events = (history as { events: Record<string, unknown>[] }).events;
  return events.map((event) => {
    const found: string[] = [];
    const visit = (value: unknown, key: string): void => {
      if (typeof value === 'string' && key === 'data')
        found.push(Buffer.from(value, 'base64').toString('utf8'));
      else if (typeof value === 'string' && /(^n|N)ame$/.test(key)) found.push(value);
      else if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) visit(v, k);
    };
    visit(event, '');
    return { type: String(event.eventType).replace(/^EVENT_TYPE_/, ''), text: found.join('\n') };
  });
}

const scheduled =
  (activity: string, payload = '') =>
  (e: HistoryEvent) =>
    e.type === 'ACTIVITY_TASK_SCHEDULED' && e.text.includes(activity) && e.text.includes(payload);
const marked = (result: string) => (e: HistoryEvent) =>
  e.type === 'MARKER_RECORDED' && e.text.includes('applyPendingEvents') && e.text.includes(result);

/** The paths of the account workflow a release's histories must take, each as a history event. */
const PATHS: Record<string, (e: HistoryEvent) => boolean> = {
  'trial end timer': scheduled('recordEvent', '"timer":"trial_end"'),
  'cancel at period end timer': scheduled('recordEvent', '"timer":"cancel_at_period_end"'),
  'grace end timer': scheduled('recordEvent', '"timer":"grace_end"'),
  'an event older than its object (stale)': marked('"outcome":"stale"'),
  'a wake-up whose events were already applied (duplicate)': marked('"applied":[]'),
  'continue-as-new': (e) => e.type === 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
  'a run started with carried state': (e) =>
    e.type === 'WORKFLOW_EXECUTION_STARTED' && e.text.includes('"carried":{"state":{'),
  'the reloadState signal': (e) =>
    e.type === 'WORKFLOW_EXECUTION_SIGNALED' && e.text.includes('reloadState'),
  'the equal-second Stripe ask': scheduled('reconcileSubscriptions'),
  'the applyEvent update (registration, correction)': (e) =>
    e.type === 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED' && e.text.includes('applyEvent'),
};

describe('replay of the release histories', () => {
  it('when the baseline is read, then its histories take every path of the account workflow', () => {
    const events = files.flatMap((f) => eventsOf(read(f)));
    const missing = Object.keys(PATHS).filter((name) => !events.some(PATHS[name]!));
    // Empty: record it with RECORD_HISTORIES=1 npx jest test/workflows/billing-account.test.ts.
    expect(missing).toEqual([]);
  });

  if (files.length > 0)
    it.each(files)(
      'when the history %s is replayed, then the current workflow code produces the same commands',
      async (file) => {
        const history = temporal.api.history.v1.History.fromObject(read(file) as object);
        expect(history.events.length).toBeGreaterThan(5);
        await expect(
          Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file),
        ).resolves.toBeUndefined();
      },
    );
});
