// Released migrations are frozen (docs/decisions.md, 2026-12-07): a database that ran one records
// its name and never runs it again, so editing or renaming it changes nothing there and
// something else everywhere new. A schema change is a new migration, numbered after every
// released one. When a release ships new migrations, it adds them here.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { MIGRATIONS_DIR } from '../../src/db/migrate';

/** Every migration released so far (0.1.0), with the sha256 of its text (LF line ends). */
const RELEASED: [name: string, sha256: string][] = [
  ['0001_billing_core', '04a6d551d11b9729c6dfa67ba9e1424c0ce905fa7f1b9e4c0d10d14204cb941a'],
  ['0002_event_dead_letters', '6ef3a89d77f174ddce25f5a370b15c0e64fa7b6cf7c5429f0f4f899a77387bb4'],
  ['0003_rejection_answer_ids', '9746f47de7f1c53f49af4f1539a87f9ac97bc68c7c9f07f2275a5138c0b1c4f8'],
  ['0004_derived_status', 'aeec56250f5a6b53964990e3a7f241ee77fdb4d81e872f7e0bd394d7baaa1019'],
  ['0005_account_deliveries', '6237b630dcb81dd30acdc1b6bd7decc413a129685babc9ffbdf5a255f26ca046'],
  ['0006_ops_thresholds', '841b0e8d4f614767e1829f0f08f7b5757aee1492463dd68d75e853534865746c'],
  ['0007_reconciliation', '3b69eb404a4e806d7fd502a987a0d8983bb09fbbb89d77a0a841ccd59abc415f'],
  ['0008_payload_archive', '6fcbbc074cabedd9f79fea0e4fb0127e1e985f5b5e71b767dac23528ac198bee'],
  [
    '0009_account_pending_events',
    'a39f05e31506b3a5a12aead88d6ec8025e163cc626fb53df1eccb1bef326e0a3',
  ],
];

const files = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
const sha256 = (name: string) =>
  createHash('sha256')
    .update(
      fs.readFileSync(path.join(MIGRATIONS_DIR, `${name}.sql`), 'utf8').replace(/\r\n/g, '\n'),
    )
    .digest('hex');
const numberOf = (name: string) => Number(name.slice(0, 4));

describe('released migrations', () => {
  it.each(RELEASED)(
    'when %s is read, then it is there under its name, unchanged',
    (name, checksum) => {
      expect(files).toContain(`${name}.sql`);
      expect(sha256(name)).toBe(checksum);
    },
  );

  it('when a migration is added, then it is named NNNN_name.sql with a number after every released one', () => {
    const released = new Set(RELEASED.map(([name]) => `${name}.sql`));
    const last = Math.max(...RELEASED.map(([name]) => numberOf(name)));
    const added = files.filter((f) => !released.has(f));
    expect(added.filter((f) => !/^\d{4}_[a-z0-9_]+\.sql$/.test(f) || numberOf(f) <= last)).toEqual(
      [],
    );
    const numbers = files.map(numberOf);
    expect(numbers.filter((n, i) => numbers.indexOf(n) !== i)).toEqual([]);
  });
});
