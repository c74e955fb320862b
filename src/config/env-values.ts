// Reading one variable of an environment handed in (src/config.ts is the only reader of
// process.env): blank counts as unset.
export type Env = NodeJS.ProcessEnv;

export const value = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
};
