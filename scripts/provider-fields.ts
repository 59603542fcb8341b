// Writes docs/provider-fields.md from the field audits (src/pipelines/<id>/fields.ts); `--check` exits 1
// when the committed file differs (the test suite runs the same comparison).
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderProviderFields } from '../src/providers/fields-doc';

const file = path.resolve(__dirname, '..', 'docs', 'provider-fields.md');
const text = renderProviderFields();
if (process.argv.includes('--check')) {
  const committed = readFileSync(file, 'utf8');
  if (committed !== text) {
    console.error('docs/provider-fields.md is out of date: run npm run provider-fields');
    process.exit(1);
  }
  console.log('docs/provider-fields.md is up to date');
} else {
  writeFileSync(file, text);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
