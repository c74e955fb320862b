// The secrets the test services run with. Nothing a service logs may contain them: the log scan
// after the suite (test/logs/, test/helpers/log-scan.ts) looks for each of them.
export const SECRETS = {
  stripe: 'whsec_test_primary_0123456789',
  stripeOld: 'whsec_test_rotated_out_987654',
  myasp: 'myasp-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
  /** GATE_TOKENS of the test services: the current gate token and the one being rotated out. */
  gate: 'gate-token-0123456789abcdef',
  gateOld: 'gate-token-rotated-fedcba98',
  /** NOTIFY_SECRET of the test services (a Standard Webhooks secret). */
  notify: 'whsec_bm90aWZ5LXNlY3JldC1vZi10aGUtdGVzdHMtMDEyMw==',
};
