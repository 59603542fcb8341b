import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { connectClient, shutdownTracing, startPipeline } from '../../src/client';
import { workflowBundleOptions } from '../../src/codec';
import { ConfigError } from '../../src/config';
import { ensureJaeger, startJaeger, type JaegerServer } from '../../src/dev/jaeger';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { tracingSettings } from '../../src/telemetry/settings';
import { createReelayWorker } from '../../src/workers/worker';
import { FAST_POLLING, makeFile, tempDir, temporalAddress, testClient } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';

/** A span as Jaeger's query API (`/api/traces`) answers it. */
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
  logs: Array<{ fields: Array<{ key: string; value: unknown }> }>;
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const tag = (span: JaegerSpan, key: string): unknown => span.tags.find((t) => t.key === key)?.value;

/** What one pipeline's trace must hold, checked against Jaeger's answer; one line per problem. */
function traceProblems(trace: JaegerTrace, expect: { clientService: string; workerService: string; spans: string[]; secrets: string[] }): string[] {
  const problems: string[] = [];
  const names = new Set(trace.spans.map((s) => s.operationName));
  for (const name of expect.spans) if (!names.has(name)) problems.push(`no span ${name}`);
  const service = (s: JaegerSpan) => trace.processes[s.processID]?.serviceName;
  const start = trace.spans.find((s) => s.operationName === 'StartWorkflow:localizePipeline');
  if (start && service(start) !== expect.clientService) problems.push(`the start span comes from ${service(start)}, not the client`);
  if (!trace.spans.some((s) => s.operationName.startsWith('RunActivity:') && service(s) === expect.workerService)) problems.push('no activity span from the worker');
  for (const s of trace.spans) if (s.traceID !== trace.traceID) problems.push(`span ${s.operationName} is in trace ${s.traceID}`);

  // A provider call: method, route template, provider and status; its parent is the activity that made it.
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const generate = trace.spans.find((s) => s.operationName === 'POST /shots/{shot_id}/generate');
  if (!generate) problems.push('no provider call span POST /shots/{shot_id}/generate');
  else {
    const got = [tag(generate, 'http.request.method'), tag(generate, 'url.template'), tag(generate, 'reelay.provider'), tag(generate, 'http.response.status_code')];
    if (JSON.stringify(got) !== JSON.stringify(['POST', '/shots/{shot_id}/generate', 'lipdub', 200])) problems.push(`provider call span attributes: ${JSON.stringify(got)}`);
    const parent = byId.get(generate.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
    if (!parent?.operationName.startsWith('RunActivity:')) problems.push(`provider call's parent is ${parent?.operationName ?? 'missing'}, not an activity`);
  }
  const upload = trace.spans.find((s) => s.operationName === 'PUT signed upload URL');
  if (!upload || tag(upload, 'http.response.status_code') !== 200) problems.push('no signed upload span with its status');

  // Nothing that identifies a request beyond its route: no query, no key, no signature.
  const values = trace.spans.flatMap((s) => [
    ...s.tags.map((t) => [s.operationName, t.key, String(t.value)]),
    ...s.logs.flatMap((l) => l.fields.map((f) => [s.operationName, f.key, String(f.value)])),
  ]);
  for (const [span, key, value] of values) {
    if (value!.includes('?')) problems.push(`${span} ${key} holds a query: ${value}`);
    if (/\bsig=|signature=|x-amz-signature/i.test(value!)) problems.push(`${span} ${key} holds a signature`);
    for (const secret of expect.secrets) if (value!.includes(secret)) problems.push(`${span} ${key} holds an API key`);
  }
  return problems;
}

async function jaegerJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return ((await res.json()) as { data: T }).data;
}

describe('traces: one OpenTelemetry trace per pipeline, in a real Jaeger', () => {
  const CLIENT_SERVICE = 'reelay-test-client';
  const WORKER_SERVICE = 'reelay-test-worker';
  let jaeger: JaegerServer;
  let sandbox: Sandbox;
  let worker: ChildProcess;
  let client: Client;
  let dir: string;
  let bundle: string;
  const taskQueue = `test-traces-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    dir = tempDir('traces');
    jaeger = await startJaeger({ binary: ensureJaeger().path, logFile: path.join(dir, 'jaeger.log') });
    sandbox = await startSandbox({
      timings: {
        dublab: { queueMs: 50, processMs: 100 },
        lipdub: { shotMs: 100, trainingMs: 100, generateQueueMs: 20, generateMs: 100 },
        text2video: { queueMs: 50, stageMs: 50 },
      },
    });
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint };
    // The worker runs a prebuilt bundle like every test worker; with tracing on it must carry the
    // workflow interceptors, which workflowBundleOptions adds under these OTEL_* settings.
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      ...workflowBundleOptions(otel),
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
    });
    bundle = path.join(dir, 'workflows.js');
    fs.writeFileSync(bundle, code);
    // In a process of its own, as in production: its tracer provider is its own global state.
    worker = await spawnWorker({
      ...process.env,
      ...sandbox.env(),
      ...otel,
      OTEL_SERVICE_NAME: WORKER_SERVICE,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      REELAY_TEST_WORKFLOW_BUNDLE: bundle,
      REELAY_TASK_QUEUE: taskQueue,
      REELAY_OUTPUT_DIR: path.join(dir, 'out'),
      REELAY_SHUTDOWN_GRACE: '0',
      REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '50',
    });
    client = await connectClient({ ...process.env, TEMPORAL_ADDRESS: temporalAddress(), ...otel, OTEL_SERVICE_NAME: CLIENT_SERVICE });
  }, 180_000);

  afterAll(async () => {
    await shutdownTracing();
    await client?.connection.close();
    if (worker) await killed(worker);
    await sandbox?.close();
    await jaeger?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let trace: JaegerTrace;
  const expectation = () => ({
    clientService: CLIENT_SERVICE,
    workerService: WORKER_SERVICE,
    spans: [
      'StartWorkflow:localizePipeline',
      'RunWorkflow:localizePipeline',
      'StartChildWorkflow:dublabPipeline',
      'RunWorkflow:dublabPipeline',
      'StartChildWorkflow:lipdubPipeline',
      'RunWorkflow:lipdubPipeline',
    ],
    secrets: Object.values(sandbox.keys),
  });

  it("a localize run is one trace: the client's start, the workflow, its DubLab and LipDub children, activities and provider calls", async () => {
    const source = makeFile(dir, 'talk.mp4', 60_000);
    const started = await startPipeline(
      client,
      'localize',
      { source, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 10, polling: FAST_POLLING },
      { taskQueue },
    );
    const result = await started.handle.result();
    expect(result.languages.map((l) => l.status)).toEqual(['delivered', 'delivered']);
    await shutdownTracing(); // the client's start span leaves now

    // Spans arrive in batches from two processes: wait (bounded) until the trace is whole.
    const deadline = Date.now() + 30_000;
    let problems: string[] = ['not queried yet'];
    while (problems.length && Date.now() < deadline) {
      const traces = await jaegerJson<JaegerTrace[]>(
        `${jaeger.queryUrl}/api/traces?service=${CLIENT_SERVICE}&tags=${encodeURIComponent(JSON.stringify({ temporalWorkflowId: started.workflowId }))}&limit=5`,
      );
      if (traces.length === 1) {
        trace = traces[0]!;
        problems = traceProblems(trace, expectation());
      } else problems = [`${traces.length} traces for the start of ${started.workflowId}`];
      if (problems.length) await new Promise((r) => setTimeout(r, 500));
    }
    expect(problems).toEqual([]);
    // The worker's spans are in that same trace, not in traces of their own.
    const worker = await jaegerJson<JaegerTrace[]>(`${jaeger.queryUrl}/api/traces?service=${WORKER_SERVICE}&operation=RunWorkflow:lipdubPipeline&limit=20`);
    expect(worker.map((t) => t.traceID)).toEqual([trace.traceID]);
  });

  it('a bundle built with the tracing interceptors still runs pipelines with tracing off', async () => {
    const queue = `${taskQueue}-off`;
    let output = '';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...sandbox.env(),
      REELAY_TEST_WORKFLOW_BUNDLE: bundle,
      REELAY_TASK_QUEUE: queue,
      REELAY_OUTPUT_DIR: path.join(dir, 'out-off'),
      REELAY_SHUTDOWN_GRACE: '0',
    };
    for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];
    const off = await spawnWorker(env, { onOutput: (text) => (output += text) });
    const plain = await testClient();
    try {
      const started = await startPipeline(plain, 'text2video', { text: 'A short story', polling: FAST_POLLING }, { taskQueue: queue });
      expect((await started.handle.result()).jobId).toBeTruthy();
      // The bundle's interceptors export through the worker's sink: with tracing off it drops them quietly.
      expect(output).not.toMatch(/unregistered external sink/);
    } finally {
      await plain.connection.close();
      await killed(off);
    }
  });

  it('the check fails a trace without the child it names, or with a query or key in an attribute', () => {
    expect(trace).toBeDefined();
    expect(traceProblems(trace, { ...expectation(), spans: ['RunWorkflow:dubPipeline'] })).toEqual(['no span RunWorkflow:dubPipeline']);
    const leaky: JaegerTrace = JSON.parse(JSON.stringify(trace));
    const call = leaky.spans.find((s) => s.operationName === 'POST /shots/{shot_id}/generate')!;
    call.tags.push({ key: 'url.full', value: `${sandbox.urls.lipdub}/shots/1/generate?key=${sandbox.keys.lipdub}` });
    expect(traceProblems(leaky, expectation())).toEqual([
      expect.stringMatching(/^POST \/shots\/\{shot_id\}\/generate url\.full holds a query/),
      'POST /shots/{shot_id}/generate url.full holds an API key',
    ]);
  });
});

describe('tracing settings and the workflow bundle', () => {
  it('is off unless an OTLP endpoint or exporter is configured, and OTEL_TRACES_EXPORTER=none forces it off', () => {
    expect(tracingSettings({})).toBeUndefined();
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'x' })).toBeUndefined();
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      tracesUrl: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
    });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo/otlp/v1/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })?.tracesUrl).toBe(
      'https://tempo/otlp/v1/traces',
    );
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' })?.tracesUrl).toBe('http://localhost:4318/v1/traces');
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://api.honeycomb.io', OTEL_EXPORTER_OTLP_HEADERS: 'x-honeycomb-team=abc%3D' })?.headers).toEqual({
      'x-honeycomb-team': 'abc=',
    });
  });

  it('a bad value stops start-up naming the variable', () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        tracingSettings(env);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual(['OTEL_TRACES_EXPORTER: must be otlp or none (got zipkin)']);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http\(s\) URL/)]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_PROTOCOL: .*gRPC is not supported/),
    ]);
  });

  it('with tracing on, a worker refuses a prebuilt bundle without the workflow interceptors, saying how to build one', async () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
    await expect(createReelayWorker({ env, workflowBundle: { codePath: process.env.REELAY_TEST_WORKFLOW_BUNDLE! } })).rejects.toThrow(
      /tracing is on .* built without the OpenTelemetry workflow interceptors: build it with bundleWorkflowCode\(\{ \.\.\.workflowBundleOptions\(env\) \}\)/,
    );
  });
});
