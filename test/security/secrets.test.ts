import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { request } from 'undici';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, payloadCodecFromEnv } from '../../src/codec';
import { startCodecServer, type CodecServer } from '../../src/codec/server';
import { startPipeline, type PipelineName } from '../../src/client';
import type { Sandbox } from '../../src/sandbox';
import { exportWorkflow, found, shape, textOf, type WorkflowExport } from '../support/audit';
import { encryptingWorkflowBundle } from '../support/bundle';
import { parseJsonOutput, runCli, type CliRun } from '../support/cli';
import { FAST_POLLING, FAST_TIMINGS, PAYLOAD_KEY_VARIABLES, makeFile, startHarness, tempDir, testClient, type Harness } from '../support/harness';
import { spawnWorker } from '../support/processes';
import { newWebhookSecret, startWebhookReceiver } from '../support/webhook-receiver';

/**
 * The secrets audit (issue 5). One pipeline of each provider, a localize run, a LipDub run fed by a
 * signed URL, and failing runs (wrong API keys, a refused signed URL) go through a real dev server, the
 * sandbox providers and workers in processes of their own whose log we capture. Then everything anyone
 * could read is exported — every history with its children (the whole JSON), every description (search
 * attributes, memo, summaries), outcomes and failure chains, progress queries, the workers' log and the
 * CLI's output — and searched for every configured API key and every signed-URL signature the run used.
 * Then the same with payload encryption on, where the stored histories must hold no plaintext of the
 * inputs at all, and decoding them through the codec server must give back what the unencrypted run had.
 */

const UNHANDLED_COMMAND = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
const hex = (n: number) => randomBytes(n).toString('hex');
const providerKeys = (tag: string) => ({
  lipdub: `lipdub-${tag}-key-${hex(12)}`,
  dublab: `dublab-${tag}-key-${hex(12)}`,
  vividflow: `vividflow-${tag}-key-${hex(12)}`,
  aistudio: `aistudio-${tag}-token-${hex(12)}`,
});
const keyEnv = (k: ReturnType<typeof providerKeys>) => ({ LIPDUB_API_KEY: k.lipdub, DUBLAB_API_KEY: k.dublab, VIVIDFLOW_API_KEY: k.vividflow, AISTUDIO_TOKEN: k.aistudio });

/** Query parameters that carry a signed URL's signature or credential, at the sandbox store and the real clouds. */
const SIGNED_QUERY = /[?&](sig|X-Goog-Signature|X-Goog-Credential|X-Amz-Signature|X-Amz-Credential)=/i;

/** A bucket that serves one object to whoever holds its signed URL (GCS V4 style), 403 otherwise. */
async function startSignedOrigin(body: Buffer): Promise<{ url(name: string, signature: string): string; signature: string; close(): Promise<void> }> {
  const signature = hex(64);
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://origin');
    if (u.searchParams.get('X-Goog-Signature') !== signature) {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    signature,
    url: (name, sig) =>
      `http://127.0.0.1:${port}/bucket/${name}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=reelay-audit%40example.iam&X-Goog-Date=20250101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=${sig}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

/** At most `n` at once: each CLI child process costs a second or two of CPU to load. */
async function limited<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

interface Run {
  label: string;
  pipeline: PipelineName;
  input: Record<string, unknown>;
  /** On the worker configured with wrong API keys. */
  wrongKeys?: boolean;
  failureType?: string;
  /** Asks for a signed completion webhook. */
  notify?: boolean;
}

interface AuditRun {
  h: Harness;
  keys: ReturnType<typeof providerKeys>;
  wrongKeys: ReturnType<typeof providerKeys>;
  /** Signatures of every signed URL the sandbox store was asked to serve. */
  storeSignatures: Set<string>;
  /** The signed URL handed to the LipDub run as its video, and its signature. */
  userUrl: string;
  userSignature: string;
  deniedSignature: string;
  runs: Array<Run & { workflowId: string; exported: WorkflowExport }>;
  cli: Array<{ args: string[]; run: CliRun }>;
  workerLog: string;
  /** The webhook secret the workers sign with (whsec_…) and its raw base64 key. */
  webhook: { secret: string; key: string; accepted: Array<{ type: string; workflowId: string }> };
  /** Plaintext that went into the inputs: prompts, local paths, file names. */
  inputTexts: Record<string, string>;
  started: Record<string, { workflowId: string; input: unknown }>;
  close(): Promise<void>;
}

async function runAudit(opts: { encryption?: Record<string, string> }): Promise<AuditRun> {
  const keys = providerKeys('audit');
  const wrongKeys = providerKeys('wrong');
  const webhook = newWebhookSecret();
  const h = await startHarness({ timings: FAST_TIMINGS, keys }, { ...(opts.encryption ? { encryption: opts.encryption } : {}), env: { REELAY_WEBHOOK_SECRET: webhook.secret } });
  // Completion webhooks signed with the workers' secret, verified by a receiver holding it.
  const receiver = await startWebhookReceiver(webhook.secret);
  const dir = tempDir('secrets-in');
  const tag = hex(4);
  const storeSignatures = new Set<string>();
  collectStoreSignatures(h.sandbox, storeSignatures);
  // A provider that echoes the key it refused, as some do: the client must redact it from the error.
  h.sandbox.use(async (ctx, next) => {
    const given = ctx.req.headers['apikey'];
    if (ctx.service === 'dublab' && given === wrongKeys.dublab) {
      const body = JSON.stringify({ message: `Invalid API key ${given}`, detail: `apikey=${given} is not recognised` });
      ctx.res.writeHead(401, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      ctx.res.end(body);
      return;
    }
    await next();
  });

  const video = makeFile(dir, `audit-talk-${tag}.mp4`, 200_000);
  const audio = makeFile(dir, `audit-voice-${tag}.mp3`, 20_000);
  const image = makeFile(dir, `audit-sunset-${tag}.png`, 5_000);
  const remoteName = `audit-remote-${tag}.mp4`;
  const origin = await startSignedOrigin(fs.readFileSync(video));
  const userUrl = origin.url(remoteName, origin.signature);
  const deniedSignature = hex(64);
  const prompts = {
    story: `A lighthouse keeper ${tag} finds a map in a bottle and follows it to a cave of glowing shells.`,
    vividflow: `The sun ${tag} sinks slowly into the sea while small waves roll toward the shore`,
    aistudio: `A paper boat ${tag} sails down a rainy city street at dusk`,
  };
  const inputTexts = {
    storyPrompt: prompts.story,
    vividflowPrompt: prompts.vividflow,
    aistudioPrompt: prompts.aistudio,
    videoPath: video,
    audioPath: audio,
    imagePath: image,
    dirPath: dir,
    videoName: path.basename(video),
    audioName: path.basename(audio),
    imageName: path.basename(image),
    remoteName,
    outputName: `audit-out-${tag}`,
  };

  const runs: Run[] = [
    { label: 'lipdub', pipeline: 'lipdub', input: { video, audios: [{ source: audio, language: 'es-MX' }], projectName: `Audit ${tag}`, polling: FAST_POLLING } },
    {
      label: 'dublab',
      pipeline: 'dublab',
      input: { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 12, outputTypes: ['translated_mp4', 'translated_subtitle'], polling: FAST_POLLING },
    },
    { label: 'text2video', pipeline: 'text2video', input: { text: prompts.story, outputName: `audit-out-${tag}.mp4`, polling: FAST_POLLING, notify: { url: receiver.url } }, notify: true },
    { label: 'vividflow', pipeline: 'vividflow', input: { prompt: prompts.vividflow, imagePath: image, model: 'wan2.1', seed: 7, polling: FAST_POLLING } },
    { label: 'aistudio', pipeline: 'aistudio', input: { prompt: prompts.aistudio, mockMode: true, durationSeconds: 4, polling: FAST_POLLING } },
    { label: 'localize', pipeline: 'localize', input: { source: video, sourceLanguage: 'en', targetLanguages: ['fr'], durationSeconds: 12, polling: FAST_POLLING } },
    { label: 'lipdub-signed-url', pipeline: 'lipdub', input: { video: userUrl, audios: [{ source: audio, language: 'fr-FR' }], polling: FAST_POLLING } },
    {
      label: 'lipdub-refused-url',
      pipeline: 'lipdub',
      input: { video: origin.url(remoteName, deniedSignature), audios: [{ source: audio, language: 'de' }], polling: FAST_POLLING },
      failureType: 'SourceUnavailable',
    },
    {
      label: 'dublab-wrong-key',
      pipeline: 'dublab',
      input: { source: video, sourceLanguage: 'en', targetLanguages: ['it'], durationSeconds: 5, polling: FAST_POLLING },
      wrongKeys: true,
      failureType: 'Unauthorized',
    },
    {
      label: 'aistudio-wrong-key',
      pipeline: 'aistudio',
      input: { prompt: prompts.aistudio, mockMode: true, polling: FAST_POLLING, notify: { url: receiver.url } },
      wrongKeys: true,
      failureType: 'Unauthorized',
      notify: true,
    },
  ];

  let workerLog = '';
  const bundle = opts.encryption ? await encryptingWorkflowBundle() : process.env.REELAY_TEST_WORKFLOW_BUNDLE!;
  const workerEnv = {
    ...h.env,
    REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS,
    REELAY_TEST_WORKFLOW_BUNDLE: bundle,
    // What `reelay worker` logs by default.
    REELAY_TEST_WORKER_LOG_LEVEL: 'INFO',
  };
  const wrongQueue = `${h.taskQueue}-wrong-keys`;
  const workers = await Promise.all([
    spawnWorker(workerEnv, { onOutput: (t) => (workerLog += t) }),
    spawnWorker({ ...workerEnv, ...keyEnv(wrongKeys), REELAY_TASK_QUEUE: wrongQueue }, { onOutput: (t) => (workerLog += t) }),
  ]);

  const started: AuditRun['started'] = {};
  const done: AuditRun['runs'] = [];
  const cli: AuditRun['cli'] = [];
  const cliEnv = opts.encryption ?? {};
  try {
    const handles = await Promise.all(
      runs.map(async (r) => {
        const s = await startPipeline(h.client, r.pipeline, r.input, { taskQueue: r.wrongKeys ? wrongQueue : h.taskQueue });
        started[r.label] = { workflowId: s.workflowId, input: r.input };
        return { r, s };
      }),
    );
    // Every run ends, one way or the other, before anything is exported.
    await Promise.all(handles.map(({ s }) => s.handle.result().catch(() => undefined)));
    // And their webhooks are delivered, so the delivery children's histories are whole when exported.
    await receiver.waitForAccepted(runs.filter((r) => r.notify).length);
    for (const { r, s } of handles) done.push({ ...r, workflowId: s.workflowId, exported: await exportWorkflow(h.client, s.workflowId) });

    const cliArgs: string[][] = [
      ...done.map((r) => ['status', r.workflowId, '--json']),
      ...done.filter((r) => r.failureType).map((r) => ['status', r.workflowId]),
      ['list', '--task-queue', h.taskQueue, '--limit', '50', '--json'],
      ['list', '--task-queue', wrongQueue, '--limit', '50'],
    ];
    cli.push(...(await limited(cliArgs, 3, async (args) => ({ args, run: await runCli(h, args, { env: cliEnv }) }))));
  } catch (err) {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    await Promise.all(workers.map(stopped));
    await origin.close();
    await receiver.close();
  }
  return {
    h,
    keys,
    wrongKeys,
    storeSignatures,
    userUrl,
    userSignature: origin.signature,
    deniedSignature,
    runs: done,
    cli,
    workerLog,
    webhook: {
      ...webhook,
      accepted: [...receiver.accepted.values()].map((b) => ({ type: (b as { type: string }).type, workflowId: (b as { data: { workflowId: string } }).data.workflowId })),
    },
    inputTexts,
    started,
    close: async () => {
      await h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function collectStoreSignatures(sandbox: Sandbox, into: Set<string>): void {
  sandbox.use(async (ctx, next) => {
    if (ctx.service === 'store') for (const name of ['sig', 'X-Goog-Signature', 'X-Amz-Signature']) {
      const v = ctx.query.get(name);
      if (v) into.add(v);
    }
    await next();
  });
}

/** The secrets every audit searches for, by name: API keys (right and wrong) and every store signature. */
function secretNeedles(a: AuditRun): Record<string, string> {
  const needles: Record<string, string> = {};
  for (const [p, k] of Object.entries(a.keys)) needles[`${p} API key`] = k;
  for (const [p, k] of Object.entries(a.wrongKeys)) needles[`${p} wrong API key`] = k;
  needles['the webhook secret (whsec_…)'] = a.webhook.secret;
  needles['the webhook key (base64)'] = a.webhook.key;
  let i = 0;
  for (const s of a.storeSignatures) needles[`store signature #${++i}`] = s;
  return needles;
}

/** Everything an audit run exposed outside history payloads, by where it was found. */
function exposedOutsidePayloads(a: AuditRun): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of a.runs) {
    out[`${r.label}: history outside payloads`] = r.exported.rawOtherText;
    out[`${r.label}: history payloads other than inputs (results, summaries, failure details)`] = r.exported.rawNonInputPayloadText;
    out[`${r.label}: workflow id`] = r.workflowId;
    out[`${r.label}: describe() as stored`] = r.exported.rawDescribeText;
    out[`${r.label}: describe() decoded (summary, memo, search attributes)`] = r.exported.describedText;
    out[`${r.label}: outcome / failure chain`] = r.exported.outcomeText;
    out[`${r.label}: progress query`] = r.exported.progressText;
  }
  for (const c of a.cli) out[`reelay ${c.args.join(' ')}`] = `${c.run.stdout}\n${c.run.stderr}`;
  out['worker log'] = a.workerLog;
  return out;
}

function leaks(places: Record<string, string>, needles: Record<string, string>): string[] {
  return Object.entries(places).flatMap(([where, text]) => found(text, needles).map((what) => `${what} in ${where}`));
}

function encodingOf(p: Payload): string {
  return Buffer.from(p.metadata?.encoding ?? new Uint8Array(0)).toString('utf8');
}

let plain: AuditRun | undefined;

describe('secrets audit with payload encryption off', () => {
  beforeAll(async () => {
    plain = await runAudit({});
  }, 300_000);
  afterAll(async () => {
    await plain?.close();
  });

  it('ran every pipeline: the five providers and localize completed, the wrong keys and the refused URL failed as such', () => {
    const a = plain!;
    for (const r of a.runs) {
      if (r.failureType) {
        expect({ label: r.label, status: r.exported.outcome.status }).toEqual({ label: r.label, status: 'failed' });
        expect(r.exported.outcomeText).toContain(r.failureType);
      } else {
        expect({ label: r.label, status: r.exported.outcome.status, failure: r.exported.outcome.status === 'failed' ? r.exported.outcomeText.slice(0, 500) : '' }).toEqual({
          label: r.label,
          status: 'completed',
          failure: '',
        });
      }
    }
    expect(new Set(a.runs.map((r) => r.pipeline))).toEqual(new Set(['lipdub', 'dublab', 'text2video', 'vividflow', 'aistudio', 'localize']));
    // The audit saw what it searches for: signed URLs were used, the workers logged, the CLI answered.
    expect(a.storeSignatures.size).toBeGreaterThanOrEqual(10);
    // Signed webhooks went out (verified by a receiver holding the secret), from a delivery child in the exported histories.
    expect(a.webhook.accepted.map((w) => w.type).sort()).toEqual(['pipeline.completed', 'pipeline.failed']);
    for (const r of a.runs.filter((x) => x.notify)) {
      expect(a.webhook.accepted.map((w) => w.workflowId)).toContain(r.workflowId);
      expect(r.exported.activityTypes).toContain('deliverWebhook');
      expect(r.exported.histories.map((x) => x.workflowId)).toEqual([r.workflowId, expect.stringMatching(new RegExp(`^${r.workflowId}-notify-`))]);
    }
    expect(a.workerLog.length).toBeGreaterThan(0);
    for (const c of a.cli) expect({ args: c.args, code: c.run.code, stderr: c.run.stderr }).toEqual({ args: c.args, code: 0, stderr: '' });
    const listed = parseJsonOutput<Array<{ workflowId: string }>>(a.cli.find((c) => c.args[0] === 'list')!.run).map((w) => w.workflowId);
    expect(listed).toEqual(expect.arrayContaining(a.runs.filter((r) => !r.wrongKeys).map((r) => r.workflowId)));
  });

  it('no configured API key and no signature of a signed URL the providers issued appears anywhere', () => {
    const a = plain!;
    const needles = secretNeedles(a);
    const places: Record<string, string> = { ...exposedOutsidePayloads(a) };
    for (const r of a.runs) {
      places[`${r.label}: history JSON`] = r.exported.rawHistoryJson;
      places[`${r.label}: history payloads`] = r.exported.rawPayloadText;
    }
    expect(leaks(places, needles)).toEqual([]);
    // No signed-URL query either, except the one the caller put in an input (next test).
    const withQuery = Object.entries(places).filter(([where, text]) => SIGNED_QUERY.test(text) && !/^lipdub-(signed|refused)-url: history (JSON|payloads)$/.test(where));
    expect(withQuery.map(([where]) => where)).toEqual([]);
    // The search is not vacuous: decoded payloads hold the inputs it would have found a key beside.
    expect(a.runs.find((r) => r.label === 'text2video')!.exported.rawPayloadText).toContain(a.inputTexts.storyPrompt);
  });

  it('a signed URL given as input stays in the input payloads only: not in ids, summaries, results, failures, progress, the CLI or the log', () => {
    const a = plain!;
    const needles = { 'the input URL signature': a.userSignature, 'the refused URL signature': a.deniedSignature };
    expect(leaks(exposedOutsidePayloads(a), needles)).toEqual([]);
    // Without encryption the workflow input is stored as given (what encryption is for):
    expect(a.runs.find((r) => r.label === 'lipdub-signed-url')!.exported.rawInputPayloadText).toContain(a.userSignature);
    const refused = a.runs.find((r) => r.label === 'lipdub-refused-url')!;
    expect(refused.exported.outcomeText).toMatch(/answered HTTP 403/);
    expect(a.runs.find((r) => r.label === 'lipdub-signed-url')!.workflowId).toMatch(new RegExp(`^lipdub-audit-remote-${a.inputTexts.remoteName.slice(13, 21)}-[0-9a-f]{8}$`));
  });

  it("the wrong keys' failures carry the provider's message with the echoed key redacted", () => {
    const a = plain!;
    const dublab = a.runs.find((r) => r.label === 'dublab-wrong-key')!;
    const err = (dublab.exported.outcome as { error: unknown }).error as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(dublab.exported.outcomeText).toMatch(/Invalid API key \[redacted\]/);
    expect(dublab.exported.rawOtherText).toMatch(/Invalid API key \[redacted\]/);
  });
});

describe('secrets audit with payload encryption on', () => {
  const payloadKey = randomBytes(32).toString('base64');
  const encryption = { REELAY_PAYLOAD_KEY: payloadKey, REELAY_PAYLOAD_KEY_ID: 'audit-1' };
  let a: AuditRun;
  let codecServer: CodecServer;

  beforeAll(async () => {
    a = await runAudit({ encryption });
    codecServer = await startCodecServer({ codec: payloadCodecFromEnv(encryption), port: 0, origins: ['http://localhost:8233'] });
  }, 300_000);
  afterAll(async () => {
    await codecServer?.close();
    await a?.close();
  });

  /** Payloads decoded through the codec server, as the Temporal UI does. */
  const decodeOverHttp = async (payloads: Payload[]): Promise<Payload[]> => {
    const res = await request(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: 'http://localhost:8233' },
      body: JSON.stringify({
        payloads: payloads.map((p) => ({
          metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
          data: Buffer.from(p.data ?? []).toString('base64'),
        })),
      }),
    });
    const body = (await res.body.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }>; error?: string };
    if (res.statusCode !== 200) throw new Error(`codec server: ${res.statusCode} ${body.error}`);
    return body.payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
      data: new Uint8Array(Buffer.from(p.data, 'base64')),
    }));
  };

  it('ran the same pipelines with the same outcomes as without encryption, under ids that carry no input text', () => {
    for (const r of a.runs) {
      const before = plain!.runs.find((p) => p.label === r.label)!;
      expect({ label: r.label, status: r.exported.outcome.status }).toEqual({ label: r.label, status: before.exported.outcome.status });
      if (r.failureType) expect(r.exported.outcomeText).toContain(r.failureType);
      expect(r.workflowId).toMatch(new RegExp(`^${r.pipeline}-[0-9a-f]{16}$`));
    }
    for (const c of a.cli) expect({ args: c.args, code: c.run.code, stderr: c.run.stderr }).toEqual({ args: c.args, code: 0, stderr: '' });
  });

  it('every payload the server stores is AES-GCM under the current key id, and every stored failure message is "Encoded failure"', () => {
    for (const r of a.runs) {
      // Patch markers (patched()) are written by the SDK's core, not through the data converter: they
      // carry only the patch id, which is checked here, so nothing else may hide under that exemption.
      const isPatchMarker = ({ where, payload }: (typeof r.exported.payloads)[number]) => {
        if (!/\.markerRecordedEventAttributes\.details\.patch-data\./.test(where)) return false;
        const data = JSON.parse(Buffer.from(payload.data ?? []).toString()) as Record<string, unknown>;
        expect(Object.keys(data).sort()).toEqual(['deprecated', 'id']);
        expect(data.id).toMatch(/^[a-z0-9-]+$/);
        return true;
      };
      const stored = r.exported.payloads.filter((p) => !/\.searchAttributes\./.test(p.where) && !isPatchMarker(p));
      expect(stored.length).toBeGreaterThan(0);
      const notEncrypted = stored.filter(({ payload }) => encodingOf(payload) !== ENCRYPTED_ENCODING).map(({ where }) => where);
      expect(notEncrypted).toEqual([]);
      expect(new Set(stored.map(({ payload }) => Buffer.from(payload.metadata![KEY_ID_METADATA]!).toString()))).toEqual(new Set(['audit-1']));
      const messages = new Set<string>();
      for (const { history } of r.exported.histories) {
        const collect = (v: unknown): void => {
          if (!v || typeof v !== 'object') return;
          // The server's own "UnhandledCommand" workflow-task failure (a signal or completion arrived while
          // the task ran) is written by the server, not the worker: it holds no payload and nothing to encrypt.
          const wtf = (v as { workflowTaskFailedEventAttributes?: { cause?: unknown } }).workflowTaskFailedEventAttributes;
          if (wtf && (wtf.cause === UNHANDLED_COMMAND || wtf.cause === 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND')) return;
          const f = v as { message?: unknown; cause?: unknown };
          if ('failure' in v) collectFailure((v as { failure: unknown }).failure);
          for (const x of Object.values(v)) if (x && typeof x === 'object' && x !== f.cause) collect(x);
        };
        const collectFailure = (f: unknown): void => {
          if (!f || typeof f !== 'object') return;
          const { message, cause } = f as { message?: string; cause?: unknown };
          if (message !== undefined) messages.add(message);
          collectFailure(cause);
        };
        collect(history);
      }
      if (r.failureType) expect(messages.size).toBeGreaterThan(0);
      expect([...messages].filter((m) => m !== 'Encoded failure' && m !== '')).toEqual([]);
    }
  });

  it('what the server stores holds no key, no signed URL and no plaintext of the inputs (prompts, paths, file names)', () => {
    const needles: Record<string, string> = {
      ...secretNeedles(a),
      'the payload key': payloadKey,
      'the input signed URL': a.userUrl,
      'the input URL signature': a.userSignature,
      'the refused URL signature': a.deniedSignature,
      ...a.inputTexts,
      'the output directory': a.h.outputRoot,
    };
    const stored: Record<string, string> = {};
    for (const r of a.runs) {
      stored[`${r.label}: history JSON`] = r.exported.rawHistoryJson;
      stored[`${r.label}: history bytes`] = r.exported.rawHistoryText;
      stored[`${r.label}: describe() as stored`] = r.exported.rawDescribeText;
      stored[`${r.label}: workflow id`] = r.workflowId;
    }
    expect(leaks(stored, needles)).toEqual([]);
    expect(Object.entries(stored).filter(([, t]) => SIGNED_QUERY.test(t)).map(([w]) => w)).toEqual([]);
  });

  it('keys and signatures stay out of what key holders see too: decoded outcomes, summaries, the CLI and the worker log', () => {
    const needles = { ...secretNeedles(a), 'the payload key': payloadKey, 'the input URL signature': a.userSignature, 'the refused URL signature': a.deniedSignature };
    expect(leaks(exposedOutsidePayloads(a), needles)).toEqual([]);
    // They do read the inputs: the summary decodes for whoever holds the key.
    expect(a.runs.find((r) => r.label === 'text2video')!.exported.describedText).toContain(a.inputTexts.storyPrompt.slice(0, 40));
  });

  it('decoded through the codec server, the histories hold the inputs and results, shaped as in the unencrypted run', async () => {
    for (const r of a.runs) {
      const before = plain!.runs.find((p) => p.label === r.label)!;
      const history = r.exported.histories[0]!.history as { events: Array<Record<string, { input?: { payloads: Payload[] }; result?: { payloads: Payload[] } }>> };
      const [input] = await decodeOverHttp(history.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads);
      const decodedInput = defaultPayloadConverter.fromPayload(input!);
      expect(decodedInput).toEqual(a.started[r.label]!.input);
      const plainHistory = before.exported.histories[0]!.history as typeof history;
      const plainInput = defaultPayloadConverter.fromPayload(plainHistory.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads[0]!);
      expect({ label: r.label, input: shape(decodedInput) }).toEqual({ label: r.label, input: shape(plainInput) });
      expect({ label: r.label, activities: r.exported.activityTypes }).toEqual({ label: r.label, activities: before.exported.activityTypes });
      const completed = history.events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes;
      if (r.exported.outcome.status === 'completed') {
        const [result] = await decodeOverHttp(completed!.result!.payloads);
        const decoded = defaultPayloadConverter.fromPayload(result!);
        expect(decoded).toEqual(r.exported.outcome.result);
        expect({ label: r.label, result: shape(decoded) }).toEqual({ label: r.label, result: shape((before.exported.outcome as { result: unknown }).result) });
      }
      // Every stored payload decodes with the key (none is left unreadable).
      const all = r.exported.payloads.filter(({ where }) => !/\.searchAttributes\./.test(where)).map(({ payload }) => payload);
      const decodedAll = await decodeOverHttp(all);
      expect(decodedAll.filter((p) => encodingOf(p) === ENCRYPTED_ENCODING)).toEqual([]);
    }
    // The signed URL the caller gave is there, for the key holder only.
    const signed = a.runs.find((r) => r.label === 'lipdub-signed-url')!;
    const decodedText = textOf(await decodeOverHttp(signed.exported.payloads.map((p) => p.payload)));
    expect(decodedText).toContain(a.userSignature);
  });

  it('a client without the key cannot read the payloads, and says which key they need', async () => {
    const done = a.runs.find((r) => r.label === 'text2video')!;
    const noCodec = await testClient();
    const noKey = await testClient({});
    const otherKey = await testClient({ REELAY_PAYLOAD_KEY: randomBytes(32).toString('base64'), REELAY_PAYLOAD_KEY_ID: 'other' });
    try {
      const sdkOnly = await noCodec.workflow.getHandle(done.workflowId).result().catch((e: unknown) => e);
      expect(String(sdkOnly)).toMatch(/binary\/encrypted/);
      expect(String(sdkOnly)).not.toContain(a.inputTexts.storyPrompt);
      await expect(noKey.workflow.getHandle(done.workflowId).result()).rejects.toThrow(
        'cannot decrypt a payload encrypted with key id "audit-1": no payload key is configured (set REELAY_PAYLOAD_KEY',
      );
      await expect(otherKey.workflow.getHandle(done.workflowId).result()).rejects.toThrow('key id "audit-1": no such key is configured');
      // The CLI without the key still reports what is plaintext, and says why the rest is missing.
      const cliWithoutKey = await runCli(a.h, ['status', done.workflowId, '--json']);
      expect(cliWithoutKey.code).toBe(0);
      expect(cliWithoutKey.stdout + cliWithoutKey.stderr).not.toContain(a.inputTexts.storyPrompt.slice(0, 30));
      const report = parseJsonOutput<{ status: string; summary?: string; result?: unknown; unreadable?: string }>(cliWithoutKey);
      expect(report.status).toBe('COMPLETED');
      expect(report.summary).toBeUndefined();
      expect(report.result).toBeUndefined();
      expect(report.unreadable).toMatch(/^cannot decrypt a payload encrypted with key id "audit-1": no payload key is configured \(set REELAY_PAYLOAD_KEY/);
    } finally {
      await Promise.all([noCodec, noKey, otherKey].map((c: Client) => c.connection.close()));
    }
  });

  it('a worker without the key fails the workflow task without reading it, and a worker with the key then runs it to completion', async () => {
    const queue = `${a.h.taskQueue}-keyless`;
    const base = { ...a.h.env, REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS, REELAY_TASK_QUEUE: queue };
    const keylessEnv: NodeJS.ProcessEnv = { ...base, REELAY_TEST_WORKFLOW_BUNDLE: process.env.REELAY_TEST_WORKFLOW_BUNDLE };
    for (const name of PAYLOAD_KEY_VARIABLES) delete keylessEnv[name];
    let log = '';
    const keyless = await spawnWorker(keylessEnv, { onOutput: (t) => (log += t) });
    let keyed: ChildProcess | undefined;
    try {
      const prompt = `A keyless worker ${hex(4)} never reads this`;
      const s = await startPipeline(a.h.client, 'text2video', { text: prompt, polling: FAST_POLLING }, { taskQueue: queue });
      let failure: string | undefined;
      const deadline = Date.now() + 60_000;
      while (failure === undefined) {
        const history = await s.handle.fetchHistory();
        const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
        if (failed) failure = failed.failure?.message ?? '';
        else if (Date.now() > deadline) throw new Error('the keyless worker never failed a workflow task');
        else await new Promise((r) => setTimeout(r, 200));
      }
      expect(failure).toMatch(/cannot decrypt a payload encrypted with key id "audit-1": no payload key is configured/);
      expect((await s.handle.describe()).status.name).toBe('RUNNING');
      await stopped(keyless);
      expect(log).not.toContain(prompt);
      keyed = await spawnWorker({ ...base, REELAY_TEST_WORKFLOW_BUNDLE: await encryptingWorkflowBundle() });
      const result = await s.handle.result();
      expect(result.output.sha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await stopped(keyless);
      if (keyed) await stopped(keyed);
    }
  });
});
