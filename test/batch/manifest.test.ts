import fs from 'node:fs';
import path from 'node:path';
import { csvRows, loadManifest, ManifestError, parseManifest } from '../../src/pipelines/batch/manifest';
import { readLinesAt } from '../../src/pipelines/batch/activities';
import { tempDir } from '../support/harness';

describe('batch manifests', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('manifest');
    fs.writeFileSync(path.join(dir, 'still.png'), 'png');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports every bad JSONL line with its number and reason', () => {
    const text = [
      '{"pipeline":"text2video","input":{"text":"ok"}}',
      '',
      '# a comment',
      '{"pipeline":"text2video","input":{"text":"ok","extra":1}}',
      '{"pipeline":"vividflow","input":{"prompt":"p","imageUrl":"gs://b/i.png","cfg":1000}}',
      '{"pipeline":"vividflow","input":{"prompt":"p","imagePath":"missing.png"}}',
      '[1,2]',
      '{"pipeline":"text2video","input":{"text":"a"},"key":"k"}',
      '{"pipeline":"text2video","input":{"text":"b"},"key":"k"}',
      '{"pipeline":"text2video"',
    ].join('\n');
    const { entries, problems } = parseManifest(text, 'jsonl', { baseDir: dir });
    expect(entries.map((e) => e.line)).toEqual([1, 8]);
    expect(problems.map((p) => p.line)).toEqual([4, 5, 6, 7, 9, 10]);
    expect(problems[0]!.reason).toMatch(/extra/);
    expect(problems[1]!.reason).toMatch(/^input\.cfg: /);
    expect(problems[2]!.reason).toMatch(/input\.imagePath: missing\.png does not exist/);
    expect(problems[4]!.reason).toBe('key: "k" is also the key of line 8');
    expect(problems[5]!.reason).toMatch(/not valid JSON/);
  });

  it('resolves local paths against the manifest directory and gives each item an output subdir', () => {
    const file = path.join(dir, 'ok.jsonl');
    fs.writeFileSync(file, '{"pipeline":"vividflow","input":{"prompt":"p","imagePath":"still.png"}}\n{"pipeline":"text2video","input":{"text":"t","outputSubdir":"mine"}}\n');
    const entries = loadManifest(file, { outputSubdirFor: (line) => `b/items/${line}` });
    expect(entries[0]!.input).toMatchObject({ imagePath: path.join(dir, 'still.png'), outputSubdir: 'b/items/1' });
    expect(entries[1]!.input.outputSubdir).toBe('mine');
  });

  it('reads CSV with a JSON input cell (quoted, multi-line) and numbers records by their first line', () => {
    const csv = 'pipeline,input,key\ntext2video,"{""text"":""one""}",a\ntext2video,"{""text"":\n""two""}",\nnope,"{}",\ntext2video,not-json,\n';
    expect(csvRows(csv).map((r) => r.line)).toEqual([1, 2, 3, 5, 6]);
    const { entries, problems } = parseManifest(csv, 'csv', { baseDir: dir });
    expect(entries).toEqual([
      { line: 2, pipeline: 'text2video', input: { text: 'one' }, key: 'a' },
      { line: 3, pipeline: 'text2video', input: { text: 'two' } },
    ]);
    expect(problems.map((p) => p.line)).toEqual([5, 6]);
  });

  it('loadManifest throws one error naming every bad line', () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, '{"pipeline":"text2video","input":{}}\n{"pipeline":"x","input":{}}\n');
    expect(() => loadManifest(file)).toThrow(ManifestError);
    expect(() => loadManifest(file)).toThrow(/line 1: input\.text: .*\nline 2: pipeline: "x" is not one of/);
  });

  it('pages through a file by byte offset', async () => {
    const file = path.join(dir, 'pages.jsonl');
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ n: i, pad: 'é'.repeat(i) }));
    fs.writeFileSync(file, lines.join('\n'));
    const seen: string[] = [];
    for (let offset = 0, eof = false; !eof; ) {
      const page = await readLinesAt(file, offset, 7);
      seen.push(...page.lines.map((l) => l.text));
      for (const l of page.lines) expect(fs.readFileSync(file).subarray(l.offset).toString('utf8').startsWith(l.text)).toBe(true);
      ({ nextOffset: offset, eof } = page);
    }
    expect(seen).toEqual(lines);
  });
});
