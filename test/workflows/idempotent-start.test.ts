import { randomBytes, randomUUID } from 'node:crypto';
import { KeyInUseError, startPipeline } from '../../src/client';
import { FAST_POLLING, FAST_TIMINGS, startHarness, testClient, type Harness } from '../support/harness';
import { parseJsonOutput, runCli } from '../support/cli';

/**
 * A start is idempotent by key (issue 14): a retry after a lost reply returns the run it started, while
 * it runs and after it completed; the same key with another input is refused naming the fields that
 * differ; a key whose run failed or was terminated starts again. From the TS client and `reelay start`.
 */
jest.setTimeout(120_000);

describe('idempotent starts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ timings: FAST_TIMINGS });
  });
  afterAll(async () => h?.close());

  const story = (tag: string) => ({ text: `The key keeps its promise (${tag}).`, polling: FAST_POLLING });

  it('the same key and input return the run, running and then completed; another input is refused by field', async () => {
    // No worker yet: the first run stays running, so the second start meets it.
    const key = `same-${randomUUID().slice(0, 8)}`;
    const first = await startPipeline(h.client, 'text2video', story(key), { key, taskQueue: h.taskQueue });
    expect(first.existing).toBeUndefined();
    // Defaults filled in by hand are the same input: maxResubmits defaults to 3.
    const again = await startPipeline(h.client, 'text2video', { ...story(key), maxResubmits: 3 }, { key, taskQueue: h.taskQueue });
    expect({ workflowId: again.workflowId, runId: again.runId, existing: again.existing }).toEqual({ workflowId: first.workflowId, runId: first.runId, existing: 'running' });

    const other = startPipeline(h.client, 'text2video', { ...story(key), text: 'Another story.', outputName: 'other.mp4' }, { key, taskQueue: h.taskQueue });
    await expect(other).rejects.toThrow(KeyInUseError);
    await expect(other).rejects.toMatchObject({ workflowId: first.workflowId, fields: ['input.outputName', 'input.text'], existingStatus: 'RUNNING' });
    await expect(other).rejects.toThrow(/different input \(differs at input\.outputName, input\.text\)/);

    await h.startWorker();
    try {
      const result = await first.handle.result();
      const done = await startPipeline(h.client, 'text2video', story(key), { key, taskQueue: h.taskQueue });
      expect({ runId: done.runId, existing: done.existing }).toEqual({ runId: first.runId, existing: 'completed' });
      expect(await done.handle.result()).toEqual(result);
      // One run in the namespace under that id: nothing billable started twice.
      const runs = [];
      for await (const w of h.client.workflow.list({ query: `WorkflowId = '${first.workflowId}'` })) runs.push(w.runId);
      expect(runs).toEqual([first.runId]);
      expect(h.sandbox.ledger().filter((e) => e.provider === 'text2video' && e.key === story(key).text)).toHaveLength(1);
    } finally {
      await h.stopWorker();
    }
  });

  it('concurrent starts with one key make one run', async () => {
    const key = `race-${randomUUID().slice(0, 8)}`;
    const all = await Promise.all(Array.from({ length: 6 }, () => startPipeline(h.client, 'text2video', story(key), { key, taskQueue: h.taskQueue })));
    expect(new Set(all.map((s) => s.runId)).size).toBe(1);
    await all[0]!.handle.terminate('test over');
  });

  it('a key whose run was terminated starts a new run; a key held by another pipeline is refused', async () => {
    const key = `rerun-${randomUUID().slice(0, 8)}`;
    const first = await startPipeline(h.client, 'text2video', story(key), { key, taskQueue: h.taskQueue });
    await first.handle.terminate('test: as if it had failed');
    const second = await startPipeline(h.client, 'text2video', story(key), { key, taskQueue: h.taskQueue });
    expect(second.existing).toBeUndefined();
    expect(second.runId).not.toBe(first.runId);
    await second.handle.terminate('test over');

    // Another Temporal client put an AI Studio run under a text2video id.
    const squatted = `squat-${randomUUID().slice(0, 8)}`;
    const foreign = await h.client.workflow.start('aistudioPipeline', { workflowId: `text2video-${squatted}`, taskQueue: h.taskQueue, args: [{ prompt: 'p', mockMode: true }] });
    await expect(startPipeline(h.client, 'text2video', story(squatted), { key: squatted, taskQueue: h.taskQueue })).rejects.toThrow(/is a aistudioPipeline run/);
    await foreign.terminate('test over');
  });

  it('compares inputs through payload encryption', async () => {
    const encryption = { REELAY_PAYLOAD_KEY: randomBytes(32).toString('base64'), REELAY_PAYLOAD_KEY_ID: 'idem-1' };
    const client = await testClient({ ...process.env, ...encryption });
    try {
      const key = `sealed-${randomUUID().slice(0, 8)}`;
      const first = await startPipeline(client, 'text2video', story(key), { key, taskQueue: h.taskQueue });
      const again = await startPipeline(client, 'text2video', story(key), { key, taskQueue: h.taskQueue });
      expect(again).toMatchObject({ runId: first.runId, existing: 'running' });
      await expect(startPipeline(client, 'text2video', { ...story(key), text: 'changed' }, { key, taskQueue: h.taskQueue })).rejects.toMatchObject({ fields: ['input.text'] });
      await first.handle.terminate('test over');
    } finally {
      await client.connection.close();
    }
  });

  it('reelay start --key prints the same workflow id and exits 0; another input exits 2 naming the field', async () => {
    const key = `cli-${randomUUID().slice(0, 8)}`;
    const args = ['start', 'text2video', '--text', 'A story told twice.', '--poll-initial', '0.1', '--poll-max', '0.5', '--key', key];
    const first = await runCli(h, [...args, '--json']);
    expect(first.code).toBe(0);
    const started = parseJsonOutput<{ workflowId: string; runId: string; existing?: string }>(first);
    expect(started.existing).toBeUndefined();

    const again = await runCli(h, args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${started.workflowId} already running (run ${started.runId})`);

    const changed = await runCli(h, ['start', 'text2video', '--text', 'A different story.', '--key', key]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/--key: .*was started with a different input \(differs at input\.polling, input\.text\)/);

    // The job runs for seconds, so the next start surely finds the run still running (a wait is quick now).
    h.sandbox.configure({ timings: { text2video: { stageMs: 1500 } } });
    await h.startWorker();
    try {
      const waited = await runCli(h, [...args, '--wait', '--json']);
      expect(waited.code).toBe(0);
      expect(parseJsonOutput(waited)).toMatchObject({ workflowId: started.workflowId, runId: started.runId, existing: 'running', status: 'COMPLETED' });
      const done = await runCli(h, args);
      expect(done.code).toBe(0);
      expect(done.stdout).toContain(`${started.workflowId} already completed (run ${started.runId})`);
    } finally {
      h.sandbox.configure({ timings: FAST_TIMINGS });
      await h.stopWorker();
    }
  });
});
