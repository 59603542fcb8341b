import fs from 'node:fs';
import path from 'node:path';
import { InputError, PIPELINE_SPECS, validatePipelineInput } from '../../client';
import { BATCH_ITEM_PIPELINES, isBatchItemPipeline } from '../registry';
import { decodeUtf8, invalidUtf8Lines } from '../../client/text';
import { BATCH_MAX_ITEMS, type ManifestEntry } from './input';
import { WORKFLOW_KEY_PATTERN } from '../../contract/common';

/**
 * Batch manifests, JSONL or CSV, one pipeline run per line.
 *
 * JSONL: `{"pipeline":"text2video","input":{...},"key":"optional"}` per line; blank lines and lines
 * starting with `#` are skipped (their numbers still count).
 * CSV: a header row naming `pipeline` and `input` (and optionally `key`), RFC 4180 quoting; `input` is a
 * JSON object in one cell (quote it and double its quotes: `"{""text"":""hi""}"`). A record's number is
 * the physical line it starts on.
 *
 * Every line is checked with the same schemas the workflows use (`validatePipelineInput`); relative local
 * paths are resolved against the manifest's directory. All bad lines are reported, nothing starts.
 */

export type ManifestFormat = 'jsonl' | 'csv';

export interface ManifestProblem {
  line: number;
  reason: string;
}

export interface ParsedManifest {
  entries: ManifestEntry[];
  problems: ManifestProblem[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
  constructor(
    readonly file: string,
    readonly problems: ManifestProblem[],
  ) {
    super(`${file}: ${problems.length} bad line${problems.length === 1 ? '' : 's'}:\n${problems.map(formatProblem).join('\n')}`);
  }
}

export function formatProblem(p: ManifestProblem): string {
  return p.line ? `line ${p.line}: ${p.reason}` : p.reason;
}

export function formatOf(file: string): ManifestFormat {
  return /\.csv$/i.test(file) ? 'csv' : 'jsonl';
}

interface RawRecord {
  line: number;
  value?: unknown;
  error?: string;
}

function jsonlRecords(text: string): RawRecord[] {
  const out: RawRecord[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    if (!s || s.startsWith('#')) return;
    try {
      out.push({ line: i + 1, value: JSON.parse(s) });
    } catch (err) {
      out.push({ line: i + 1, error: `not valid JSON (${(err as Error).message})` });
    }
  });
  return out;
}

/**
 * RFC 4180 rows with the physical line each starts on. A quote left open at the end swallows every line
 * after it; `unterminatedAt` names the line where the record holding it starts.
 */
export function csvRows(text: string): Array<{ line: number; cells: string[] }> & { unterminatedAt?: number } {
  const rows: Array<{ line: number; cells: string[] }> & { unterminatedAt?: number } = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let any = false;
  const endRow = () => {
    cells.push(cell);
    if (any || cells.length > 1 || cell !== '') rows.push({ line: rowLine, cells });
    cells = [];
    cell = '';
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      any = true;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else cell += c;
  }
  if (quoted) rows.unterminatedAt = rowLine;
  if (cell !== '' || cells.length || any) endRow();
  return rows;
}

function csvRecords(text: string): { records: RawRecord[]; problems: ManifestProblem[] } {
  const rows = csvRows(text);
  if (rows.unterminatedAt !== undefined) {
    return { records: [], problems: [{ line: rows.unterminatedAt, reason: 'a quoted cell in the record starting on this line is never closed (every line after it would be read into that cell)' }] };
  }
  const header = rows.shift();
  if (!header) return { records: [], problems: [] };
  const names = header.cells.map((c) => c.trim().toLowerCase());
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length) return { records: [], problems: [{ line: header.line, reason: `CSV header names the column(s) ${[...new Set(repeated)].join(', ')} more than once` }] };
  const col = (n: string) => names.indexOf(n);
  const missing = ['pipeline', 'input'].filter((n) => col(n) === -1);
  if (missing.length) {
    return { records: [], problems: [{ line: header.line, reason: `CSV header must name the columns pipeline and input (missing: ${missing.join(', ')})` }] };
  }
  const unknown = names.filter((n) => !['pipeline', 'input', 'key'].includes(n));
  if (unknown.length) return { records: [], problems: [{ line: header.line, reason: `unknown CSV column(s): ${unknown.join(', ')} (columns: pipeline, input, key)` }] };
  const records = rows
    .filter((r) => r.cells.some((c) => c.trim()))
    .map((r): RawRecord => {
      if (r.cells.length !== names.length) return { line: r.line, error: `has ${r.cells.length} cells, the header has ${names.length}` };
      const cell = (n: string) => (col(n) === -1 ? undefined : r.cells[col(n)]);
      const rawInput = cell('input')!.trim();
      let input: unknown;
      try {
        input = JSON.parse(rawInput);
      } catch (err) {
        return { line: r.line, error: `input: not valid JSON (${(err as Error).message})` };
      }
      const key = cell('key')?.trim();
      return { line: r.line, value: { pipeline: cell('pipeline')!.trim(), input, ...(key ? { key } : {}) } };
    });
  return { records, problems: [] };
}

/**
 * Parse and validate a whole manifest. `baseDir` resolves relative local paths; `outputSubdirFor` gives
 * an item its own output directory when the pipeline accepts one and the line did not choose one.
 */
export function parseManifest(text: string, format: ManifestFormat, opts: { baseDir: string; outputSubdirFor?: (line: number) => string }): ParsedManifest {
  const problems: ManifestProblem[] = [];
  let records: RawRecord[];
  if (format === 'csv') {
    const csv = csvRecords(text);
    problems.push(...csv.problems);
    records = csv.records;
  } else records = jsonlRecords(text);

  const entries: ManifestEntry[] = [];
  const keys = new Map<string, number>();
  for (const r of records) {
    if (r.error) {
      problems.push({ line: r.line, reason: r.error });
      continue;
    }
    const v = r.value as { pipeline?: unknown; input?: unknown; key?: unknown } | null;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push({ line: r.line, reason: 'must be an object {"pipeline": …, "input": {…}}' });
      continue;
    }
    const extra = Object.keys(v).filter((k) => !['pipeline', 'input', 'key'].includes(k));
    if (extra.length) {
      problems.push({ line: r.line, reason: `unknown field(s) ${extra.join(', ')} (fields: pipeline, input, key)` });
      continue;
    }
    const pipeline = v.pipeline;
    if (!isBatchItemPipeline(pipeline)) {
      problems.push({ line: r.line, reason: `pipeline: ${JSON.stringify(pipeline ?? null)} is not one of ${BATCH_ITEM_PIPELINES.join(', ')}` });
      continue;
    }
    if (v.key !== undefined) {
      if (typeof v.key !== 'string' || !WORKFLOW_KEY_PATTERN.test(v.key)) {
        problems.push({ line: r.line, reason: 'key: must be 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit' });
        continue;
      }
      // An item's child workflow is `<batchId>-<key ?? line>`: a key of digits only could be another line's id.
      if (/^\d+$/.test(v.key)) {
        problems.push({ line: r.line, reason: `key: "${v.key}" is only digits, which name unkeyed lines; add a letter` });
        continue;
      }
      const first = keys.get(v.key);
      if (first !== undefined) {
        problems.push({ line: r.line, reason: `key: "${v.key}" is also the key of line ${first}` });
        continue;
      }
      keys.set(v.key, r.line);
    }
    if (typeof v.input !== 'object' || v.input === null || Array.isArray(v.input)) {
      problems.push({ line: r.line, reason: 'input: must be an object' });
      continue;
    }
    let input: Record<string, unknown>;
    try {
      input = validatePipelineInput(pipeline, v.input, opts.baseDir) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof InputError) {
        problems.push({ line: r.line, reason: err.problems.join('; ') });
        continue;
      }
      throw err;
    }
    if (opts.outputSubdirFor && input.outputSubdir === undefined) {
      const withSubdir = { ...input, outputSubdir: opts.outputSubdirFor(r.line) };
      if (PIPELINE_SPECS[pipeline].schema.safeParse(withSubdir).success) input = withSubdir;
    }
    entries.push({ line: r.line, pipeline, input, ...(typeof v.key === 'string' ? { key: v.key } : {}) });
  }
  if (!records.length && !problems.length) problems.push({ line: 0, reason: 'the manifest has no items' });
  if (entries.length > BATCH_MAX_ITEMS) problems.push({ line: 0, reason: `at most ${BATCH_MAX_ITEMS} items per batch (this one has ${entries.length})` });
  return { entries, problems };
}

/** Read, parse and validate a manifest file; throws ManifestError listing every bad line. */
export function loadManifest(file: string, opts: { outputSubdirFor?: (line: number) => string } = {}): ManifestEntry[] {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(abs);
  } catch (err) {
    throw new ManifestError(file, [{ line: 0, reason: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  // Lines that are not UTF-8 are reported as such; the rest is still checked, so one run lists every problem.
  const badBytes = invalidUtf8Lines(bytes);
  const text = badBytes.length ? bytes.toString('utf8').replace(/^\uFEFF/, '') : decodeUtf8(bytes);
  const parsed = parseManifest(text, formatOf(abs), { baseDir: path.dirname(abs), ...opts });
  const badLines = new Set(badBytes.map((b) => b.line));
  const problems = [...badBytes.map((b) => ({ line: b.line, reason: b.problem })), ...parsed.problems.filter((p) => !badLines.has(p.line))];
  problems.sort((a, b) => a.line - b.line);
  if (problems.length) throw new ManifestError(file, problems);
  return parsed.entries;
}

/** The normalized JSONL the workflow reads: one entry per line, absolute paths, original line numbers. */
export function writeNormalizedManifest(target: string, entries: ManifestEntry[]): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.part`;
  fs.writeFileSync(tmp, entries.map((e) => JSON.stringify(e) + '\n').join(''));
  fs.renameSync(tmp, target);
}
