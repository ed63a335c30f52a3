// E2E_SPEC (comma-separated globs) narrows a run to some suites; the default is every suite.
// mocha merges positional specs with the config's, so narrowing has to happen here.
module.exports = {
  import: 'tsx',
  require: ['support/root-hooks.ts'],
  spec: process.env.E2E_SPEC ? process.env.E2E_SPEC.split(',') : ['suites/**/*.spec.ts'],
  timeout: 60000,
  exit: true,
};
