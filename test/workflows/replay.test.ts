// Determinism guard: every committed history must replay against today's workflow code. A change
// that breaks one needs `patched()` (see docs/decisions.md), not a re-recorded fixture.
import fs from 'node:fs';
import path from 'node:path';

import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

import { workflowBundle } from '../helpers/service';

const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

function load(file: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(
    JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as object,
  );
}

describe('replay of committed workflow histories', () => {
  it('when the fixtures are listed, then there are histories covering timers, ordering and continue-as-new', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)(
    'when %s is replayed, then the current workflow code produces the same commands',
    async (file) => {
      const history = load(file);
      expect(history.events.length).toBeGreaterThan(5);
      await expect(
        Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file),
      ).resolves.toBeUndefined();
    },
  );
});
