// The Jest environment of the workflow, integration and infra tests: the Temporal SDK's INFO lines
// (worker state changes, bundles) are kept in memory and printed only when a test or hook fails,
// with the lines logged since the previous test ended. WARN and above print at once
// (sdk-log-setup.ts installs the SDK's logger). TEMPORAL_SDK_LOGS=1 prints everything as it comes.
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

/** Lines kept at most; older ones are dropped first. */
const KEPT = 500;

export default class SdkLogEnvironment extends TestEnvironment {
  private readonly lines: string[] = [];

  // In the constructor: Jest runs `setupFiles` before the environment's setup().
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.global.__TEMPORAL_SDK_LOG__ = (line: string) => {
      this.lines.push(line);
      if (this.lines.length > KEPT) this.lines.shift();
    };
  }

  handleTestEvent(event: Circus.Event): void {
    const failed =
      (event.name === 'test_done' && event.test.errors.length > 0) || event.name === 'hook_failure';
    if (failed && this.lines.length > 0) {
      process.stderr.write(
        `\nTemporal SDK log before the failure (${this.lines.length} lines):\n${this.lines.join('\n')}\n`,
      );
    }
    if (event.name === 'test_done' || event.name === 'hook_failure') this.lines.length = 0;
  }
}
