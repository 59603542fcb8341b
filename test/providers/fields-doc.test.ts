import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderProviderFields } from '../../src/providers/fields-doc';

it('docs/provider-fields.md is what the field audits render (npm run provider-fields)', () => {
  const committed = readFileSync(path.join(__dirname, '..', '..', 'docs', 'provider-fields.md'), 'utf8');
  expect(committed).toBe(renderProviderFields());
});
