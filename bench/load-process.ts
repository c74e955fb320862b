// The load generator's own process: takes one job over IPC, runs it, answers with its figures,
// and exits. The bench forks one per load (load-plan.ts: loadElsewhere), so the generator's CPU is not
// the service's: signing and sending thousands of requests a second costs most of a core here.
import { type JobAnswer, type LoadJob, runJob } from './load-plan';

process.once('message', (job: LoadJob) => {
  const answer = (a: JobAnswer) => process.send?.(a, () => process.disconnect());
  runJob(job).then(
    (result) => answer({ ok: true, result }),
    (err: unknown) =>
      answer({ ok: false, message: err instanceof Error ? err.message : String(err) }),
  );
});
