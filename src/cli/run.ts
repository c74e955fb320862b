// Runs one command body with a fresh context: turns its answer into the exit code, any error
// into one sentence on stderr (exit 2), and always closes the connections.
import { type CliContext, createCliContext } from './context';
import { describeError, EXIT } from './output';

export type CommandBody = (ctx: CliContext) => Promise<number>;
export type Runner = (body: CommandBody) => Promise<void>;

export function createRunner(makeContext: () => CliContext = () => createCliContext()): Runner {
  return async (body) => {
    const ctx = makeContext();
    let code: number;
    try {
      code = await body(ctx);
    } catch (err) {
      ctx.err.write(`${describeError(err)}\n`);
      code = EXIT.CANNOT_RUN;
    } finally {
      await ctx.close();
    }
    process.exitCode = code;
  };
}
