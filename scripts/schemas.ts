// Writes schemas/<workflowType>.input.json and .result.json (JSON Schema, draft 2020-12) for every
// startable pipeline, from the zod schemas the edge and the workflows use (pipelineJsonSchemas in
// src/client). `--check` exits 1 when a committed file differs or is missing; the test suite runs the same
// comparison (test/pipelines/json-schemas.test.ts).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderJsonSchemaFiles } from '../src/client';

const dir = path.resolve(__dirname, '..', 'schemas');
const files = renderJsonSchemaFiles();
if (process.argv.includes('--check')) {
  const stale = Object.entries(files).filter(([name, text]) => !existsSync(path.join(dir, name)) || readFileSync(path.join(dir, name), 'utf8') !== text);
  const extra = readdirSync(dir).filter((name) => name.endsWith('.json') && !(name in files));
  if (stale.length || extra.length) {
    console.error(`schemas/ is out of date (${[...stale.map(([n]) => n), ...extra.map((n) => `${n} (no longer generated)`)].join(', ')}): run npm run schemas`);
    process.exit(1);
  }
  console.log('schemas/ is up to date');
} else {
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  console.log(`wrote ${Object.keys(files).length} files in ${path.relative(process.cwd(), dir) || '.'}`);
}
