import fs from 'node:fs';
import path from 'node:path';
import { parseCommandArgs } from '../../src/cli/args';
import { buildInput, spec as startSpec, isStartPipeline } from '../../src/cli/commands/start';
import { PIPELINES, isPipelineId } from '../../src/pipelines/registry';
import { schemaProblems } from '../support/contract';

/**
 * Every example input the README shows validates against the published JSON Schema of its workflow
 * (schemas/), read with an independent validator (ajv, draft 2020-12): the `reelay start` lines (through
 * the CLI's own flag mapping), the `temporal workflow start --input` lines, the manifest lines and the
 * TypeScript `startPipeline` call. A README edit that shows an input the workflows would refuse fails here.
 */
const root = path.resolve(__dirname, '../..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const problems = schemaProblems;

/** The fenced code blocks of the README, with their info string. */
function blocks(): Array<{ lang: string; text: string }> {
  return [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

/** Shell words of one command line, honouring '…' and "…" (enough for the README's examples). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** `sh` lines joined across trailing backslashes, comments cut. */
function shellLines(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim());
}

interface Example {
  where: string;
  schema: string;
  value: unknown;
}

function examples(): { found: Example[]; skipped: string[] } {
  const found: Example[] = [];
  const skipped: string[] = [];
  for (const { lang, text } of blocks()) {
    if (lang === 'sh') {
      for (const line of shellLines(text)) {
        const words = shellWords(line);
        if (words[0] === 'npx' && words[1] === 'reelay' && words[2] === 'start') {
          const [pipeline, ...argv] = words.slice(3);
          if (!isStartPipeline(pipeline)) throw new Error(`README: reelay start ${pipeline}: not a startable pipeline`);
          if (argv.includes('--input')) {
            skipped.push(line); // the input file is not in the README
            continue;
          }
          const { values } = parseCommandArgs(startSpec, [pipeline, ...argv]);
          found.push({ where: line, schema: `${PIPELINES[pipeline].workflowType}.input.json`, value: buildInput(pipeline, values) });
        } else if (words[0] === 'temporal' && words[1] === 'workflow' && words[2] === 'start') {
          const type = words[words.indexOf('--type') + 1]!;
          found.push({ where: line, schema: `${type}.input.json`, value: JSON.parse(words[words.indexOf('--input') + 1]!) });
        } else if (line.startsWith('{')) {
          // A manifest line: the caller's ({pipeline, input, key?}) or the normalized one (with "line").
          const entry = JSON.parse(line) as { pipeline: string; input: unknown; line?: number };
          if (!isPipelineId(entry.pipeline)) throw new Error(`README manifest line names unknown pipeline ${entry.pipeline}`);
          found.push({ where: line, schema: `${PIPELINES[entry.pipeline].workflowType}.input.json`, value: entry.input });
          if (entry.line !== undefined) found.push({ where: line, schema: 'batchManifestLine.json', value: entry });
        }
      }
    } else if (lang === 'ts') {
      for (const m of text.matchAll(/startPipeline\(client, '(\w+)', (\{[\s\S]*?\})\);/g)) {
        const pipeline = m[1]!;
        if (!isPipelineId(pipeline)) throw new Error(`README startPipeline names unknown pipeline ${pipeline}`);
        // An object literal of plain values, as the README writes it.
        const value = new Function(`return (${m[2]!});`)() as unknown;
        found.push({ where: `startPipeline(client, '${pipeline}', …)`, schema: `${PIPELINES[pipeline].workflowType}.input.json`, value });
      }
    }
  }
  return { found, skipped };
}

describe('README example inputs against schemas/', () => {
  const { found, skipped } = examples();

  it('finds the examples it is meant to check', () => {
    const kinds = (prefix: string) => found.filter((e) => e.where.startsWith(prefix)).length;
    expect(kinds('npx reelay start')).toBeGreaterThanOrEqual(8);
    expect(kinds('temporal workflow start')).toBeGreaterThanOrEqual(2);
    expect(kinds('{')).toBeGreaterThanOrEqual(4);
    expect(kinds('startPipeline(')).toBeGreaterThanOrEqual(1);
    // Every pipeline a person can start appears in at least one example.
    const schemas = new Set(found.map((e) => e.schema));
    for (const id of Object.keys(PIPELINES) as Array<keyof typeof PIPELINES>) expect(schemas).toContain(`${PIPELINES[id].workflowType}.input.json`);
    expect(skipped).toEqual([expect.stringContaining('--input job.json')]);
  });

  it.each(examples().found.map((e) => [`${e.schema} ← ${e.where}`, e] as const))('%s', (_where, example) => {
    expect(problems(example.schema, example.value)).toEqual([]);
  });

  it('the validator refuses what the workflows refuse', () => {
    // Each mutation of a README example is something the zod schema refuses; the JSON Schema must too.
    const dublab = found.find((e) => e.schema === 'dublabPipeline.input.json')!.value as Record<string, unknown>;
    expect(problems('dublabPipeline.input.json', { ...dublab, durationSeconds: -1 })).not.toEqual([]);
    expect(problems('dublabPipeline.input.json', { ...dublab, surprise: true })).not.toEqual([]);
    const { sourceLanguage: _dropped, ...withoutLanguage } = dublab;
    expect(problems('dublabPipeline.input.json', withoutLanguage)).not.toEqual([]);
    expect(problems('batchPipeline.input.json', { manifestPath: '/m.jsonl', total: 'two' })).not.toEqual([]);
  });
});
