import fs from 'node:fs';
import path from 'node:path';
import { renderJsonSchemaFiles } from '../../src/client';
import { PIPELINES, STARTABLE_PIPELINES } from '../../src/pipelines/registry';

/**
 * schemas/ is what the zod schemas render to (`npm run schemas`): a caller in another language reads
 * the same contract the edge and the workflows check.
 */
describe('schemas/', () => {
  const dir = path.resolve(__dirname, '../../schemas');
  const files = renderJsonSchemaFiles();

  it('holds an input and a result schema for every pipeline, by workflow type, and the query results', () => {
    const expected = [
      ...[...STARTABLE_PIPELINES, 'batch' as const].flatMap((id) => [`${PIPELINES[id].workflowType}.input.json`, `${PIPELINES[id].workflowType}.result.json`]),
      'batchManifestLine.json',
      'batchResultRecord.json',
      'progress.query.json',
      'batchProgress.query.json',
    ];
    expect(Object.keys(files).sort()).toEqual(expected.sort());
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(expected.sort());
  });

  it.each(Object.keys(renderJsonSchemaFiles()))('%s is what the zod schemas render (npm run schemas)', (name) => {
    expect(fs.readFileSync(path.join(dir, name), 'utf8')).toBe(files[name]);
  });
});
