/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: ['src/.*\\.spec\\.ts$', 'test/.*\\.(e2e-spec|spec)\\.ts$'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
  },
  testEnvironment: 'node',
  testTimeout: 30000,
  forceExit: true,
  reporters: ['default', '<rootDir>/scripts/jest-json-reporter.js'],
};
