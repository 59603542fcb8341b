/**
 * Every pipeline, end to end, against both sandbox profiles: `faithful` (the shapes Reelay assumes where
 * the docs are silent) and `docs-minimal` (exactly what the provider docs show, ids in their least
 * convenient documented form, a LipDub shot id that appears late, DubLab outputs without a status,
 * download URLs that expire 20 s after issue). A pipeline that passes only on the first relies on an
 * assumption.
 */
import fs from 'node:fs';
import path from 'node:path';
import { progressQuery, startPipeline, type PipelineName } from '../../src/client';
import { PIPELINES, type PipelineId } from '../../src/pipelines/registry';
import { schemaProblems } from '../support/contract';
import { readResults, startBatch } from '../../src/pipelines/batch/start';
import { SANDBOX_PROFILES } from '../../src/sandbox';
import { sha256Hex } from '../../src/sandbox/derive';
import { batchProgressQuery } from '../../src/pipelines/batch/signals';
import { FAST_POLLING, FAST_TIMINGS, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

interface Delivered {
  path: string;
  bytes: number;
  sha256: string;
}

/** Every delivered file in a result (any depth), so one check covers every pipeline's result shape. */
function deliveredFiles(result: unknown): Delivered[] {
  const out: Delivered[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const r = v as Record<string, unknown>;
      if (typeof r.path === 'string' && typeof r.sha256 === 'string' && typeof r.bytes === 'number') out.push(r as unknown as Delivered);
      else Object.values(r).forEach(walk);
    }
  };
  walk(result);
  return out;
}

function expectExact(files: Delivered[]): void {
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    const bytes = fs.readFileSync(f.path);
    expect({ path: f.path, bytes: bytes.length, sha256: sha256Hex(bytes) }).toEqual({ path: f.path, bytes: f.bytes, sha256: f.sha256 });
  }
}

describe.each(SANDBOX_PROFILES.map((p) => [p]))('every pipeline against the %s sandbox', (profile) => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ profile, timings: FAST_TIMINGS });
    await h.startWorker();
    dir = tempDir(`profile-${profile}`);
  });
  afterAll(async () => {
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the five pipelines and localize complete with byte-exact outputs', async () => {
    const video = makeFile(dir, 'talk.mp4', 120_000);
    const image = makeFile(dir, 'still.png', 20_000);
    const inputs: Array<[PipelineName, Record<string, unknown>]> = [
      ['lipdub', { video, audios: [{ source: makeFile(dir, 'es.mp3', 8_000), language: 'es' }, { source: makeFile(dir, 'fr.mp3', 9_000), language: 'fr' }] }],
      ['dublab', { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 10, outputTypes: ['translated_mp4', 'translated_subtitle'] }],
      ['text2video', { text: `A story told to the ${profile} sandbox.` }],
      ['vividflow', { prompt: 'waves roll in', imagePath: image }],
      ['aistudio', { prompt: 'a paper boat in the rain', mockMode: true }],
      ['localize', { source: video, sourceLanguage: 'en', targetLanguages: ['it', 'ja'], durationSeconds: 10, subtitles: true }],
    ];
    const started = await Promise.all(
      inputs.map(([pipeline, input]) => startPipeline(h.client, pipeline, { ...input, polling: FAST_POLLING } as never, { taskQueue: h.taskQueue })),
    );
    const outcomes = await Promise.all(started.map((s) => s.handle.result().then((r) => ({ ok: true as const, r }), (e: Error) => ({ ok: false as const, e }))));
    const failures = outcomes.flatMap((o, i) => (o.ok ? [] : [`${inputs[i]![0]}: ${o.e.message} ${String((o.e.cause as Error | undefined)?.message ?? '')}`]));
    expect(failures).toEqual([]);
    for (const o of outcomes) if (o.ok) expectExact(deliveredFiles(o.r));
    // What each run returns and answers is what schemas/ publishes, read by an independent validator.
    const answers = await Promise.all(started.map((s) => s.handle.query(progressQuery)));
    const off = outcomes.flatMap((o, i) => [
      ...schemaProblems(`${PIPELINES[inputs[i]![0]].workflowType}.result.json`, o.ok ? o.r : undefined),
      ...schemaProblems('progress.query.json', answers[i]),
    ]);
    expect(off).toEqual([]);
  });

  it('a batch of 10 mixed items completes', async () => {
    const manifest = path.join(dir, 'mixed.jsonl');
    const audio = makeFile(dir, 'pt.mp3', 6_000);
    const video = makeFile(dir, 'clip.mp4', 50_000);
    const lines = [
      ...Array.from({ length: 4 }, (_, i) => ({ pipeline: 'text2video', input: { text: `batch story ${i}`, polling: FAST_POLLING } })),
      ...Array.from({ length: 2 }, (_, i) => ({ pipeline: 'aistudio', input: { prompt: `batch prompt ${i}`, mockMode: true, polling: FAST_POLLING } })),
      { pipeline: 'vividflow', input: { prompt: 'batch waves', imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING } },
      { pipeline: 'lipdub', input: { video, audios: [{ source: audio, language: 'pt' }], polling: FAST_POLLING } },
      { pipeline: 'dublab', input: { source: video, sourceLanguage: 'en', targetLanguages: ['nl'], durationSeconds: 5, polling: FAST_POLLING } },
      { pipeline: 'text2video', input: { text: 'the last story', polling: FAST_POLLING } },
    ];
    fs.writeFileSync(manifest, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const batch = await startBatch(h.client, manifest, { window: 5, taskQueue: h.taskQueue, outputRoot: h.outputRoot });
    const result = await batch.handle.result();
    const progress = await batch.handle.query(batchProgressQuery);
    expect({ total: progress.total, done: progress.done, failed: progress.failed }).toEqual({ total: 10, done: 10, failed: 0 });
    const results = readResults(result.resultsPath!);
    const off = [
      ...schemaProblems('batchPipeline.result.json', result),
      ...schemaProblems('batchProgress.query.json', progress),
      ...results.flatMap((r) => [...schemaProblems('batchResultRecord.json', r), ...schemaProblems(`${PIPELINES[r.pipeline as PipelineId].workflowType}.result.json`, r.result)]),
    ];
    expect(off).toEqual([]);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('completed'));
    expectExact(deliveredFiles(results.map((r) => r.result)));
  });
});
