import fs from 'node:fs';
import path from 'node:path';
import { formatProblem, loadManifest, ManifestError } from '../../src/pipelines/batch/manifest';
import { runCli, type CliRun } from '../support/cli';
import { startHarness, tempDir, type Harness } from '../support/harness';
import { makeFixtures, manifestCases, type Fixtures, type ManifestCase } from './catalogue';
import { expectNoCrash, mapLimit, providerCalls, workflowsOnQueue } from './support';

/**
 * Every manifest case of the catalogue, read by the manifest reader and run through `reelay batch run`:
 * the problem is reported on its line and names the field; the CLI exits 2 and starts nothing.
 */

describe('bad batch manifests', () => {
  let h: Harness;
  let f: Fixtures;
  const files = new Map<string, string>();
  const runs = new Map<string, CliRun>();

  const fileOf = (c: ManifestCase): string => {
    if (c.path) return c.path(f);
    const dir = path.join(f.dir, c.id);
    fs.mkdirSync(dir, { recursive: true });
    // The files relative paths in the manifests point at, beside each manifest.
    for (const name of ['talk.mp4', 'es.mp3']) fs.copyFileSync(name === 'talk.mp4' ? f.video : f.audio, path.join(dir, name));
    const file = path.join(dir, c.file);
    fs.writeFileSync(file, c.text!(f));
    return file;
  };

  beforeAll(async () => {
    h = await startHarness();
    await h.startWorker();
    f = makeFixtures(tempDir('bad-input-manifest'));
    for (const c of manifestCases) files.set(c.id, fileOf(c));
    const results = await mapLimit(manifestCases, 3, (c) => runCli(h, ['batch', 'run', files.get(c.id)!]));
    manifestCases.forEach((c, i) => runs.set(c.id, results[i]!));
  });
  afterAll(async () => {
    await h?.close();
    if (f) fs.rmSync(f.dir, { recursive: true, force: true });
  });

  it.each(manifestCases.map((c) => [c.id, c] as const))('%s: the reader reports it on its line, naming the field', (_id, c) => {
    let err: unknown;
    try {
      loadManifest(files.get(c.id)!);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ManifestError);
    const problem = (err as ManifestError).problems.find((p) => p.line === c.line && formatProblem(p).includes(c.expectField));
    expect({ id: c.id, problems: (err as ManifestError).problems, found: problem !== undefined }).toMatchObject({ found: true });
    expect(problem!.reason).toMatch(c.expectReason);
  });

  it.each(manifestCases.map((c) => [c.id, c] as const))('%s: reelay batch run exits 2 listing the line, and starts nothing', (_id, c) => {
    const r = runs.get(c.id)!;
    expect({ id: c.id, code: r.code, stdout: r.stdout }).toEqual({ id: c.id, code: 2, stdout: '' });
    const [head, ...problems] = r.stderr.trim().split('\n');
    expect(head).toMatch(/^reelay batch: .*; nothing was started:$/);
    const shown = problems.find((p) => (c.line ? p.trim().startsWith(`line ${c.line}: `) : true) && p.includes(c.expectField));
    expect({ id: c.id, stderr: r.stderr, found: shown !== undefined }).toMatchObject({ found: true });
    expect(shown).toMatch(c.expectReason);
    expectNoCrash(r);
  });

  it('a manifest with several bad lines lists every one, and none of the good ones', async () => {
    const file = f.write('several.jsonl', [
      JSON.stringify({ pipeline: 'text2video', input: { text: 'fine' } }),
      JSON.stringify({ pipeline: 'text2video', input: { text: '' } }),
      '{not json',
      JSON.stringify({ pipeline: 'bogus', input: {} }),
      JSON.stringify({ pipeline: 'text2video', input: { text: 'also fine' } }),
    ].join('\n') + '\n');
    const r = await runCli(h, ['batch', 'run', file, '--json']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { valid: boolean; problems: Array<{ line: number; reason: string }> };
    expect(out.valid).toBe(false);
    expect(out.problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(out.problems[0]!.reason).toMatch(/^input\.text: must not be empty$/);
    expect(out.problems[2]!.reason).toMatch(/^pipeline: "bogus"/);
  });

  it('started nothing and called no provider', async () => {
    expect(await workflowsOnQueue(h)).toEqual([]);
    expect(providerCalls(h)).toBe(0);
    expect(fs.readdirSync(h.outputRoot)).toEqual([]);
  });
});
