/** Polls until `probe` returns a value that is not undefined/false, or fails with the last seen value. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false | null>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${opts.what ?? 'condition'}.`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
