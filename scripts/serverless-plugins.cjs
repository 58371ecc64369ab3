/**
 * The plugins serverless.yml loads (its `plugins:` reads this file). serverless-offline and
 * serverless-offline-sqs run the pipeline under `serverless offline start`: development tools,
 * which `npm test` installs (devDependencies) and the main job, `serverless package` and deploys
 * do not need (docs/adr/0010-test-speed.md, "Two installs"). They are loaded where they are installed.
 * CommonJS, since osls reads a `${file(…)}` of JavaScript with require().
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const installed = (name) => existsSync(join(__dirname, '..', 'node_modules', name, 'package.json'));

module.exports = () => [
  './scripts/serverless-parameters.ts',
  './scripts/serverless-resource-files.ts',
  'serverless-step-functions',
  ...['serverless-offline-sqs', 'serverless-offline'].filter(installed),
];
