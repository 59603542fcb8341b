import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';

/**
 * The published contract (schemas/*.json) read by an independent validator (ajv, draft 2020-12), as a
 * caller in another language would read it: what Reelay sends and answers must pass, not only what zod says.
 */
const dir = path.resolve(__dirname, '../../schemas');
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();

/** What `value` breaks of `schemas/<file>`, one line per problem; empty when it conforms. */
export function schemaProblems(file: string, value: unknown): string[] {
  let v = validators.get(file);
  if (!v) {
    v = ajv.compile(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as object);
    validators.set(file, v);
  }
  return v(value) ? [] : (v.errors ?? []).map((e) => `${file}: ${e.instancePath || '/'} ${e.message ?? ''}`);
}
