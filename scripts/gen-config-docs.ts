// Regenerates docs/CONFIGURATION.md and .env.example from src/config/settings.ts.
// Run: npx ts-node --transpile-only scripts/gen-config-docs.ts   (a test checks they are current)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigurationDoc, renderEnvExample } from '../src/config/config-docs';

const root = join(__dirname, '..');
writeFileSync(join(root, 'docs', 'CONFIGURATION.md'), renderConfigurationDoc());
writeFileSync(join(root, '.env.example'), renderEnvExample());
