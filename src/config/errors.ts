// What a bad or missing setting becomes: one sentence naming the variable, never a stack trace.
export class ConfigError extends Error {
  override name = 'ConfigError';
}
