import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { startPipeline } from '../../src/client';
import type { FaultProfileInput } from '../../src/sandbox';
import { FAST_POLLING, makeFile, startHarness, tempDir, temporalAddress, type Harness } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';

/** Two 429s on Vivid Flow's status call (retried after 1 s each), then its job fails; every DubLab dub fails. */
const FAULTS: FaultProfileInput = {
  seed: 3,
  rules: [
    { key: 'vividflow GET /api/v1/status/*', faults: { rateLimit: { rate: 1, first: 2, burst: 1, retryAfterSeconds: 1 } } },
    { key: 'vividflow POST /api/v1/generate', faults: { jobFails: { rate: 1 } } },
    { service: 'dublab', faults: { jobFails: { rate: 1 } } },
  ],
};

interface JsonLine {
  time: string;
  level: string;
  msg: string;
  workflowId?: string;
  runId?: string;
  activity?: string;
  provider?: string;
  endpoint?: string;
  status?: number;
  nextRetryMs?: number;
  child?: string;
  stack?: string;
  [k: string]: unknown;
}

describe('worker logs an operator can use', () => {
  let h: Harness;
  let dir: string;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    h = await startHarness({ faults: FAULTS });
    dir = tempDir('logs');
  });
  afterAll(async () => {
    await Promise.all(workers.map(killed));
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A worker subprocess logging at INFO in `format`; its stderr, once `run` is done (and a moment for the last lines). */
  async function logsOf(format: 'json' | 'text', run: () => Promise<void>): Promise<string> {
    h.sandbox.setFaults(FAULTS);
    let stderr = '';
    const worker = await spawnWorker(
      { ...h.env, REELAY_TEST_TEMPORAL_ADDRESS: temporalAddress(), REELAY_TEST_WORKER_LOG_LEVEL: 'INFO', REELAY_LOG_FORMAT: format },
      { onOutput: (t) => (stderr += t) },
    );
    workers.push(worker);
    try {
      await run();
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await killed(worker);
    }
    return stderr.replace(/^READY\n/m, '');
  }

  const vividflow = async () => {
    const s = await startPipeline(h.client, 'vividflow', { prompt: 'a logged story', imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    await expect(s.handle.result()).rejects.toThrow();
    return s;
  };

  it('REELAY_LOG_FORMAT=json: one JSON object per line with the run, activity, provider and endpoint; a retried 429 is one WARN line without a stack; one failure is one WARN', async () => {
    let vivid: Awaited<ReturnType<typeof vividflow>> | undefined;
    let localizeId = '';
    const text = await logsOf('json', async () => {
      vivid = await vividflow();
      const l = await startPipeline(
        h.client,
        'localize',
        { source: makeFile(dir, 'talk.mp4', 100_000), sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 10, polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      localizeId = l.workflowId;
      await expect(l.handle.result()).rejects.toThrow();
    });
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as JsonLine;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
    expect(parsed.length).toBeGreaterThan(5);
    for (const p of parsed) expect(p).toMatchObject({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: expect.any(String), msg: expect.any(String) });

    const retries = parsed.filter((p) => p.status === 429);
    expect(retries).toHaveLength(h.sandbox.faultStats().total.rateLimit ?? -1);
    expect(retries).toHaveLength(2);
    for (const r of retries) {
      expect(r).toMatchObject({
        level: 'WARN',
        msg: 'Activity attempt failed (retryable)',
        workflowId: vivid!.workflowId,
        runId: vivid!.runId,
        workflowType: 'vividflowPipeline',
        // The status call, made by a wait (src/activities/wait.ts).
        activity: 'waitForChange',
        provider: 'vividflow',
        endpoint: 'GET /status/{job_id}',
        errorType: 'RateLimited',
        nextRetryMs: 1000,
      });
      expect(r).not.toHaveProperty('stack');
    }
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);

    // One failure, one WARN: the Vivid Flow run's; the DubLab child's; its localize parent repeats the child's reason at INFO.
    const failed = parsed.filter((p) => p.msg.startsWith('Workflow failed'));
    expect(failed.map((p) => [p.level, p.workflowId])).toEqual([
      ['WARN', vivid!.workflowId],
      ['WARN', `${localizeId}-dublab`],
      ['INFO', localizeId],
    ]);
    expect(failed[2]).toMatchObject({ child: `${localizeId}-dublab`, runId: expect.any(String) });
    expect(parsed.filter((p) => p.stack !== undefined)).toEqual([]);
    // The paced provider queues are activity-only by design.
    expect(text).not.toContain('No workflows registered');
  });

  it('in text, a retried 429 is one line too, and no failure prints a stack', async () => {
    const text = await logsOf('text', async () => void (await vividflow()));
    const retries = text.split('\n').filter((l) => l.includes('Activity attempt failed (retryable)'));
    expect(retries).toHaveLength(2);
    for (const r of retries) expect(r).toMatch(/^\S+Z \[WARN\] Activity attempt failed \(retryable\) \{.*workflowId: 'vividflow-.*activity: 'waitForChange'.*provider: 'vividflow', endpoint: 'GET \/status\/\{job_id\}', status: 429/);
    expect(text.split('\n').filter((l) => l.includes('Workflow failed'))).toHaveLength(1);
    expect(text).not.toMatch(/^\s+at /m);
    expect(text).not.toContain('No workflows registered');
  });
});
