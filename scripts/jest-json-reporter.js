// Writes jest's aggregated results (the shape of `jest --json`) to jest-results.json, so that
// .ci/run can print its own summary line while running exactly `npm test`.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

class JsonResultsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const { testResults, ...summary } = results;
    const files = testResults.map((file) => ({
      name: file.testFilePath,
      failureMessage: file.failureMessage,
      numPassingTests: file.numPassingTests,
      numFailingTests: file.numFailingTests,
    }));
    writeFileSync(join(this.rootDir, 'jest-results.json'), JSON.stringify({ ...summary, files }, null, 2));
  }
}

module.exports = JsonResultsReporter;
