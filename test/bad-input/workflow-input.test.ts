import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { InputError, startPipeline, validatePipelineInput, type PipelineName } from '../../src/client';
import { startBatch } from '../../src/pipelines/batch/start';
import { PIPELINES, PIPELINE_IDS, pipelineWorkflowId } from '../../src/pipelines/registry';
import { FAST_POLLING, startHarness, tempDir, type Harness } from '../support/harness';
import { makeFixtures, workflowInputCases, type Fixtures, type WorkflowInputCase } from './catalogue';
import { workflowsOnQueue } from './support';

/**
 * Every workflow-input case of the catalogue, against the real dev server, a real worker and the sandbox
 * providers: refused by the client before anything starts, naming the field; and for the cases marked
 * `aroundClient`, started with a raw `client.workflow.start` to prove the workflow refuses the input
 * itself (non-retryable InvalidInput) without a provider call, while the worker keeps serving.
 */

const pipelineCases = workflowInputCases.filter((c): c is WorkflowInputCase & { pipeline: PipelineName } => c.pipeline !== 'batch');
const batchCases = workflowInputCases.filter((c) => c.pipeline === 'batch');
const rawCases = workflowInputCases.filter((c) => c.aroundClient);

describe('bad workflow inputs', () => {
  let h: Harness;
  let f: Fixtures;
  let goodManifest: string;
  const rawStarted: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ timings: { text2video: { queueMs: 10, stageMs: 10 } } });
    await h.startWorker();
    f = makeFixtures(tempDir('bad-input-wf'));
    goodManifest = f.write('good.jsonl', JSON.stringify({ pipeline: 'text2video', input: { text: 'A good story' } }) + '\n');
  });
  afterAll(async () => {
    await h?.close();
    if (f) fs.rmSync(f.dir, { recursive: true, force: true });
  });
  beforeEach(() => h.sandbox.resetCounters());

  it('catalogues every pipeline, localize and batch included', () => {
    expect(new Set(workflowInputCases.map((c) => c.pipeline))).toEqual(new Set(PIPELINE_IDS));
  });

  it.each(pipelineCases.map((c) => [c.id, c] as const))('%s: refused before start, naming the field', async (_id, c) => {
    const problem = () => {
      try {
        validatePipelineInput(c.pipeline, c.input(f));
      } catch (err) {
        return err;
      }
      throw new Error(`${c.id}: accepted`);
    };
    const err = problem();
    expect(err).toBeInstanceOf(InputError);
    const message = (err as InputError).message;
    expect(message).toContain(`${c.expectField}: `);
    expect((err as InputError).problems.find((p) => p.startsWith(`${c.expectField}: `))).toMatch(c.expectReason);

    const key = `bad-${c.id}`;
    await expect(startPipeline(h.client, c.pipeline, c.input(f), { taskQueue: h.taskQueue, key })).rejects.toThrow(InputError);
    await expect(h.client.workflow.getHandle(pipelineWorkflowId(c.pipeline, key)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(h.sandbox.counters()).toEqual({});
  });

  it.each(batchCases.map((c) => [c.id, c] as const))('%s: startBatch refuses it before reading the manifest or starting', async (_id, c) => {
    const opts = { key: `bad-${c.id}`, taskQueue: h.taskQueue, outputRoot: h.outputRoot, ...(c.input(f) as object) };
    const err = await startBatch(h.client, goodManifest, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const problem = (err as InputError).problems.find((p) => p.startsWith(`${c.expectField}: `));
    expect(problem).toMatch(c.expectReason);
    expect(fs.readdirSync(h.outputRoot)).toEqual([]);
    if (/^[\w.-]+$/.test(opts.key)) await expect(h.client.workflow.getHandle(pipelineWorkflowId('batch', opts.key)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(h.sandbox.counters()).toEqual({});
  });

  it.each(rawCases.map((c) => [c.id, c] as const))('%s: started around the client, the workflow fails with a non-retryable InvalidInput', async (_id, c) => {
    const input = c.aroundClient === true ? c.input(f) : c.aroundClient!(f);
    const workflowType = PIPELINES[c.pipeline].workflowType;
    const workflowId = `raw-${c.id}`;
    const handle = await h.client.workflow.start(workflowType, { taskQueue: h.taskQueue, workflowId, args: [input] });
    rawStarted.push(workflowId);
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    const problem = cause!.message.split('; ').find((p) => p.startsWith(`${c.expectField}: `));
    expect(problem).toMatch(c.expectReason);
    // No activity but the input check was scheduled: the input never reached a provider's activity.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(scheduled).toEqual(['validateInput']);
    expect(h.sandbox.counters()).toEqual({});
  });

  it('the worker is still serving after every refusal: a good run completes', async () => {
    const started = await startPipeline(h.client, 'text2video', { text: 'After the bad inputs, a good one.', polling: FAST_POLLING }, { taskQueue: h.taskQueue, key: 'good-after-bad' });
    const result = await started.handle.result();
    expect(fs.readFileSync(result.output.path, 'utf8')).toContain('After the bad inputs, a good one.');
    expect(path.relative(h.outputRoot, result.output.path).startsWith('..')).toBe(false);
    expect(h.sandbox.counters()['text2video POST /api/v1/generate']).toBe(1);
  });

  it('no workflow was started on the queue but the raw ones and the good run', async () => {
    const expected = [...rawStarted, 'text2video-good-after-bad'].sort();
    let seen: string[] = [];
    for (let i = 0; i < 50; i++) {
      seen = await workflowsOnQueue(h);
      if (expected.every((id) => seen.includes(id))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(seen).toEqual(expected);
  });
});
