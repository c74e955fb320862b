// The workflow code bundled for test workers. The run's global setup builds it once and hands its
// path to every test file (TEST_WORKFLOW_BUNDLE), so a file's workers load it instead of bundling
// again (about 2 s a file); a file run on its own builds it once for itself.
import fs from 'node:fs';

import { bundleWorkflowCode } from '@temporalio/worker';

import { WORKFLOWS_PATH } from '../../src/temporal/worker';

const noop = () => undefined;
const silent = { info: noop, warn: noop, error: noop, debug: noop, trace: noop, log: noop };

/** The workflows under `workflowsPath` bundled, without the bundler's log lines. */
export async function bundleQuietly(workflowsPath = WORKFLOWS_PATH): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: silent });
  return { code };
}

let bundle: Promise<{ code: string }> | null = null;

/** The product's workflow bundle: the run's (TEST_WORKFLOW_BUNDLE), or built once for the file. */
export function workflowBundle(): Promise<{ code: string }> {
  const built = process.env.TEST_WORKFLOW_BUNDLE;
  bundle ??= built
    ? fs.promises.readFile(built, 'utf8').then((code) => ({ code }))
    : bundleQuietly();
  return bundle;
}
