import { spawn, type ChildProcess } from 'node:child_process';
import { NativeConnection, Runtime, DefaultLogger, type LogLevel } from '@temporalio/worker';
import { startPipeline } from '../../src/client';
import { ensurePrometheus, startPrometheus, type PrometheusServer } from '../../src/dev/prometheus';
import { startStoreFaultProxy } from '../../src/dev/store-faults';
import { freePort } from '../../src/dev/temporal';
import { createReelayWorker } from '../../src/workers/worker';
import { BIN, ROOT, runProcess } from '../support/cli';
import { FAST_POLLING, startHarness, temporalAddress, type Harness } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';
import { testStoreEnv } from '../storage/support';

const PIPELINES = 3;
/** Every text2video status call 429s for its first few, with a 1 s Retry-After: the activity retries after it. */
const FAULTS = {
  seed: 7,
  rules: [{ key: 'text2video GET /api/v1/status/*', faults: { rateLimit: { rate: 1, first: 4, burst: 1, retryAfterSeconds: 1 } } }],
};

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};

/** `reelay worker --check` against `addr`. */
const check = (addr: string) => runProcess([process.execPath, BIN, 'worker', '--check'], { ...process.env, REELAY_METRICS_ADDR: addr, NO_COLOR: '1' });

/** The sum of `expr` in Prometheus once `until` holds for it; fails naming the query and its last value. */
async function promValue(prom: PrometheusServer, expr: string, until: (v: number) => boolean, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  for (;;) {
    const series = await prom.query(expr);
    last = series.length ? series.reduce((n, s) => n + s.value, 0) : undefined;
    if (last !== undefined && until(last)) return last;
    if (Date.now() > deadline) throw new Error(`Prometheus: ${expr} was ${last ?? 'absent'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('worker metrics in Prometheus, and the health probes', () => {
  let h: Harness;
  let worker: ChildProcess | undefined;
  let prom: PrometheusServer | undefined;
  let metricsAddr: string;

  beforeAll(async () => {
    const binary = ensurePrometheus({ log: (l) => console.log(l) });
    h = await startHarness({ faults: FAULTS, timings: { text2video: { queueMs: 50, stageMs: 50 }, aistudio: { pendingMs: 50, runMs: 300 } } });
    metricsAddr = `127.0.0.1:${await freePort()}`;
    // One AI Studio job at a time: of two runs, one waits for the slot.
    worker = await spawnWorker({ ...h.env, REELAY_TEST_TEMPORAL_ADDRESS: temporalAddress(), REELAY_METRICS_ADDR: metricsAddr, REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: '1' });
    prom = await startPrometheus({ binary: binary.path, targets: [metricsAddr], scrapeIntervalSeconds: 1 });
  });
  afterAll(async () => {
    if (worker) await killed(worker);
    await prom?.stop();
    await h?.close();
  });

  it('counts completed pipelines and provider 429s, scraped by a real Prometheus', async () => {
    const started = await Promise.all(
      Array.from({ length: PIPELINES }, (_, i) => startPipeline(h.client, 'text2video', { text: `metrics story ${i}`, polling: FAST_POLLING }, { taskQueue: h.taskQueue })),
    );
    const slotted = await Promise.all(
      [1, 2].map((i) => startPipeline(h.client, 'aistudio', { prompt: `metrics story ${i}`, mockMode: true, polling: FAST_POLLING }, { taskQueue: h.taskQueue })),
    );
    for (const s of [...started, ...slotted]) await s.handle.result();
    const injected = h.sandbox.faultStats().total.rateLimit ?? 0;
    expect(injected).toBeGreaterThan(0);

    const completed = await promValue(prom!, 'reelay_pipelines_finished_total{job="reelay",outcome="completed",workflowType="text2videoPipeline"}', (v) => v >= PIPELINES);
    expect(completed).toBe(PIPELINES);
    expect(await promValue(prom!, 'reelay_pipelines_started_total{workflowType="text2videoPipeline"}', (v) => v >= PIPELINES)).toBe(PIPELINES);
    // Every 429 the sandbox sent was seen by the HTTP core, on the status endpoint's template.
    const rateLimited = await promValue(prom!, 'reelay_provider_requests_total{provider="text2video",endpoint="GET /status/{job_id}",outcome="429"}', (v) => v >= injected);
    expect(rateLimited).toBe(injected);
    expect(await promValue(prom!, 'reelay_provider_requests_total{provider="text2video",endpoint="POST /generate",outcome="2xx"}', (v) => v >= PIPELINES)).toBe(PIPELINES);
    expect(await promValue(prom!, 'reelay_provider_request_duration_seconds_count{provider="text2video"}', (v) => v > 0)).toBeGreaterThanOrEqual(PIPELINES * 2);
    expect(await promValue(prom!, 'reelay_status_polls_total{provider="text2video"}', (v) => v >= PIPELINES)).toBeGreaterThanOrEqual(PIPELINES);
    expect(await promValue(prom!, 'reelay_provider_job_duration_seconds_count{provider="text2video"}', (v) => v >= PIPELINES)).toBe(PIPELINES);
    expect(await promValue(prom!, 'reelay_transfer_bytes_total{direction="download"}', (v) => v > 0)).toBeGreaterThan(0);
    // The second AI Studio run waited for the one slot; the limiter's gauge is back to 0 once both are done.
    expect(await promValue(prom!, 'reelay_provider_slot_waits_total{provider="aistudio"}', (v) => v >= 1)).toBe(1);
    expect(await promValue(prom!, 'reelay_provider_slot_wait_seconds_count{provider="aistudio"}', (v) => v >= 2)).toBe(2);
    expect(await promValue(prom!, 'reelay_provider_jobs_in_flight{provider="aistudio"}', (v) => v === 0)).toBe(0);
    expect(await promValue(prom!, 'reelay_pipelines_finished_total{outcome="completed",workflowType="aistudioPipeline"}', (v) => v >= 2)).toBe(2);
    // The SDK's own runtime metrics come through the same scrape.
    expect(await promValue(prom!, 'temporal_workflow_task_schedule_to_start_latency_count', (v) => v > 0)).toBeGreaterThan(0);
    expect(await promValue(prom!, 'temporal_worker_task_slots_available', (v) => v > 0)).toBeGreaterThan(0);
    // No label carries an id: every series of Reelay's names a template, never a job.
    const series = await prom!.query('{__name__=~"reelay_.*"}');
    // (The SDK tags workflow metrics with the task queue, which the tests make unique and operators name.)
    expect(series.length).toBeGreaterThan(5);
    for (const s of series) {
      for (const [label, v] of Object.entries(s.metric)) if (label !== 'taskQueue') expect(v).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-|metrics story|\/status\/[a-z0-9]/);
    }
  });

  it('serves /healthz and /readyz while it polls, and reelay worker --check agrees', async () => {
    expect(await get(`http://${metricsAddr}/healthz`)).toMatchObject({ status: 200 });
    const ready = await get(`http://${metricsAddr}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', checks: { temporal: 'ok', worker: 'ok' } });
    const ok = await check(metricsAddr);
    expect({ code: ok.code, stdout: ok.stdout.trim() }).toEqual({ code: 0, stdout: `ready (${metricsAddr})` });

    const nobody = `127.0.0.1:${await freePort()}`;
    const down = await check(nobody);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toMatch(new RegExp(`^no answer from http://${nobody}/readyz: ECONNREFUSED$`));
  });

  it('/readyz is 503 naming the failed check: before the worker polls, and when its object store stops answering', async () => {
    try {
      Runtime.install({ logger: new DefaultLogger((process.env.REELAY_TEST_LOG_LEVEL as LogLevel) || 'ERROR') });
    } catch {
      // Already installed by an earlier test file in this process.
    }
    const s = testStoreEnv();
    const proxy = await startStoreFaultProxy({ target: s.endpoint });
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    // The S3 client reads its credentials from the process environment (the SDK's default chain).
    const savedAws = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = s.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s.secretAccessKey;
    try {
      const w = await createReelayWorker({
        connection,
        namespace: 'default',
        workflowBundle: { codePath: process.env.REELAY_TEST_WORKFLOW_BUNDLE! },
        env: {
          ...h.env,
          REELAY_TASK_QUEUE: `${h.taskQueue}-probe`,
          REELAY_METRICS_ADDR: '127.0.0.1:0',
          REELAY_OUTPUT_URL: `s3://${s.bucket}/ops-probe`,
          REELAY_S3_ENDPOINT: proxy.endpoint,
          REELAY_S3_REGION: s.region,
        },
      });
      const addr = w.metricsAddress!;
      const before = await get(`http://${addr}/readyz`);
      expect(before.status).toBe(503);
      expect(JSON.parse(before.text)).toMatchObject({ status: 'not ready', failed: { check: 'worker', reason: expect.stringContaining('INITIALIZED') } });
      const notYet = await check(addr);
      expect(notYet.code).toBe(1);
      expect(notYet.stderr.trim()).toMatch(/^not ready: worker: task queue .* is INITIALIZED/);

      const running = w.run();
      const deadline = Date.now() + 10_000;
      let now = await get(`http://${addr}/readyz`);
      while (now.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        now = await get(`http://${addr}/readyz`);
      }
      expect(JSON.parse(now.text)).toMatchObject({ status: 'ready', checks: { temporal: 'ok', worker: 'ok', store: 'ok' } });

      await proxy.close();
      const storeDown = await get(`http://${addr}/readyz`);
      expect(storeDown.status).toBe(503);
      expect(JSON.parse(storeDown.text)).toMatchObject({ failed: { check: 'store' }, checks: { temporal: 'ok', worker: 'ok' } });

      w.shutdown();
      await running;
      // The probes go with the worker.
      await expect(fetch(`http://${addr}/healthz`)).rejects.toThrow();
    } finally {
      await proxy.close().catch(() => undefined);
      await connection.close();
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', savedAws.id], ['AWS_SECRET_ACCESS_KEY', savedAws.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('`reelay worker` with REELAY_METRICS_ADDR serves the SDK\'s metrics and the probes, and stops serving when it stops', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, [BIN, 'worker'], {
      cwd: ROOT,
      env: {
        ...h.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_NAMESPACE: 'default',
        REELAY_TASK_QUEUE: `${h.taskQueue}-cli`,
        REELAY_WORKFLOW_BUNDLE: process.env.REELAY_TEST_WORKFLOW_BUNDLE!,
        REELAY_METRICS_ADDR: addr,
        REELAY_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!stderr.includes('Metrics on')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`reelay worker did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stderr).toContain(`Metrics on http://${addr}/metrics, probes on /healthz and /readyz.`);
      expect((await check(addr)).code).toBe(0);
      const metrics = await get(`http://${addr}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(new RegExp(`^temporal_worker_task_slots_available\\{.*task_queue="${h.taskQueue}-cli".*\\} \\d+$`, 'm'));
      expect((await get(`http://${addr}/nothing`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const after = await check(addr);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('ECONNREFUSED');
  });
});
