import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version (from package.json two levels above both src/ and dist/ files). */
export const RELAY_VERSION: string = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
