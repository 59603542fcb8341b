/**
 * The starters in examples/python (the official temporalio SDK, in the virtualenv the harness builds once)
 * and examples/shell (the `temporal` CLI) run a text2video pipeline against the dev server and the sandbox
 * with no Reelay code: the result they print validates against schemas/, names the file the sandbox
 * served, and their progress lines come from the `progress` query. With payload encryption on they hold
 * no key: `reelay codec-server` (the real command, in a process of its own) encrypts their input and
 * decrypts the rest, while history holds only ciphertext.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { ENCRYPTED_ENCODING } from '../../src/codec';
import { ensurePythonVenv } from '../../src/dev/python-venv';
import { text2videoOutput } from '../../src/sandbox/derive';
import { BIN, ROOT } from '../support/cli';
import { FAST_POLLING, FAST_TIMINGS, startHarness, temporalAddress, tempDir, type Harness } from '../support/harness';

const PYTHON_EXAMPLE = path.join(ROOT, 'examples/python/start_pipeline.py');
const SHELL_EXAMPLE = path.join(ROOT, 'examples/shell/start.sh');
/** A sandbox text2video job fails when its text contains this. */
const DOOMED = 'DOOMED-BY-THE-TEST';
const RUN_TIMEOUT_MS = 60_000;
const GENERATE = 'text2video POST /api/v1/generate';

const ajv = new Ajv2020({ allErrors: true });
const validateResult = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas/text2videoPipeline.result.json'), 'utf8')) as object);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child process in its own process group (the shell example forks a progress watcher), killed whole after `timeoutMs`. */
function runBounded(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = RUN_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      process.kill(-child.pid!, 'SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Only what a caller elsewhere would have: no Reelay variables, no payload key. */
const bareEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' });

interface Example {
  name: string;
  /** Start text2videoPipeline with this input under this key; wait; print the result. */
  run(h: Harness, inputFile: string, key: string, codec?: { endpoint: string; auth: string }): Promise<Run>;
}

const python: Example = {
  name: 'the Python example',
  run(h, inputFile, key, codec) {
    const python = ensurePythonVenv().python;
    const args = ['text2videoPipeline', inputFile, '--key', key, '--address', temporalAddress(), '--namespace', 'default', '--task-queue', h.taskQueue];
    if (codec) args.push('--codec-endpoint', codec.endpoint, '--codec-auth', codec.auth);
    return runBounded([python, PYTHON_EXAMPLE, ...args, '--progress-interval', '0.2'], bareEnv());
  },
};

const shell: Example = {
  name: 'the shell example',
  run(h, inputFile, key, codec) {
    return runBounded(['bash', SHELL_EXAMPLE, 'text2videoPipeline', inputFile, key], {
      ...bareEnv(),
      TEMPORAL_CLI: process.env.REELAY_TEST_TEMPORAL_CLI!,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: 'default',
      REELAY_TASK_QUEUE: h.taskQueue,
      ...(codec ? { REELAY_CODEC_ENDPOINT: codec.endpoint, REELAY_CODEC_AUTH: codec.auth } : {}),
    });
  },
};

function writeInput(dir: string, text: string): string {
  const file = path.join(dir, `${randomUUID()}.json`);
  fs.writeFileSync(file, JSON.stringify({ text, polling: FAST_POLLING }));
  return file;
}

/** Exit 0, a result valid against the schema naming the sandbox's bytes, progress seen; returns the result and run id. */
function expectDelivered(run: Run, text: string): { result: { jobId: string; output: { path: string; bytes: number } }; runId: string } {
  if (run.code !== 0) throw new Error(`exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  const result = JSON.parse(run.stdout) as { jobId: string; output: { path: string; bytes: number } };
  validateResult(result);
  expect(validateResult.errors ?? []).toEqual([]);
  const expected = text2videoOutput(text);
  expect(result.output.bytes).toBe(expected.length);
  expect(fs.readFileSync(result.output.path).equals(expected)).toBe(true);
  expect(run.stderr).toMatch(/^progress: stage=(submitting|queued|generating|downloading|completed) percent=\d+/m);
  const runId = /^workflow text2video-\S+ run (\S+)/m.exec(run.stderr)?.[1];
  expect(runId).toBeDefined();
  return { result, runId: runId! };
}

function expectFailedWithProviderReason(run: Run): void {
  if (run.code !== 1) throw new Error(`exit ${run.code}, not 1\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(
    new RegExp(`^workflow text2video-\\S+ failed: text2video job \\S+ failed: Error generating search queries: the sandbox was told to fail texts containing "${DOOMED}" \\(ProviderJobFailed\\)$`, 'm'),
  );
}

let data: string;
beforeAll(() => {
  // Built once into the cache (npm test builds it before jest); a cache hit here.
  ensurePythonVenv({ log: (l) => console.log(l) });
  data = tempDir('other-languages');
});
afterAll(() => fs.rmSync(data, { recursive: true, force: true }));

describe('starters in other languages, payload encryption off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ timings: FAST_TIMINGS });
    h.sandbox.configure({ text2video: { failTexts: [DOOMED] } });
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([python, shell])('$name runs text2videoPipeline by type name and prints its result as plain JSON', async (example) => {
    const text = `A lighthouse keeper finds a bottle ${randomUUID()}`;
    const key = `story-${randomUUID()}`;
    const run = await example.run(h, writeInput(data, text), key);
    expectDelivered(run, text);
    // A summary for the Temporal UI and the dashboard, set the way each client sets one.
    const summary = await h.client.workflow.getHandle(`text2video-${key}`).describe().then((d) => d.staticSummary());
    expect(summary).toBe(`text2video: ${key} (${example === python ? 'Python' : 'temporal CLI'})`);
  });

  it('the Python example started twice with the same key returns the same run, and the provider sees one job', async () => {
    const text = `A paper boat in the rain ${randomUUID()}`;
    const input = writeInput(data, text);
    const key = `twice-${randomUUID()}`;
    const before = h.sandbox.counters()[GENERATE] ?? 0;
    const first = expectDelivered(await python.run(h, input, key), text);
    const second = expectDelivered(await python.run(h, input, key), text);
    expect(second.runId).toBe(first.runId);
    expect(second.result).toEqual(first.result);
    expect(h.sandbox.counters()[GENERATE]).toBe(before + 1);
    // The shell example, with the same key, finds the same run too.
    expect(expectDelivered(await shell.run(h, input, key), text).runId).toBe(first.runId);
  });

  it.each([python, shell])("$name exits 1 with the provider's reason when the job fails", async (example) => {
    expectFailedWithProviderReason(await example.run(h, writeInput(data, `A ${DOOMED} story`), `doomed-${randomUUID()}`));
  });
});

interface CodecProcess {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** `reelay codec-server --port 0`, the real command, holding the key (and requiring a token). */
async function startCodecServerProcess(env: NodeJS.ProcessEnv): Promise<CodecProcess> {
  const child = spawn(process.execPath, [BIN, 'codec-server', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reelay codec-server did not start in 30 s:\n${stdout}\n${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /Codec server on (http:\/\/\S+?) /.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('close', (code) => reject(new Error(`reelay codec-server exited ${code}:\n${stdout}\n${stderr}`)));
  });
  return {
    url,
    log: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('starters in other languages, payload encryption on: decoded only through reelay codec-server', () => {
  let h: Harness;
  let codec: CodecProcess;
  const token = randomUUID();
  const auth = `Bearer ${token}`;

  beforeAll(async () => {
    const key = randomBytes(32).toString('base64');
    h = await startHarness({ timings: FAST_TIMINGS }, { encryption: { REELAY_PAYLOAD_KEY: key } });
    h.sandbox.configure({ text2video: { failTexts: [DOOMED] } });
    await h.startWorker();
    codec = await startCodecServerProcess({ ...bareEnv(), REELAY_PAYLOAD_KEY: key, REELAY_CODEC_TOKEN: token });
  });
  afterAll(async () => {
    await codec?.stop();
    await h?.close();
  });

  /** The payloads as stored: the start event's input and the completion's result. */
  async function storedPayloads(workflowId: string): Promise<Array<{ encoding: string; data: string }>> {
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
    const result = history.events!.find((e) => e.workflowExecutionCompletedEventAttributes)!.workflowExecutionCompletedEventAttributes!.result!.payloads!;
    return [...input, ...result].map((p) => ({ encoding: Buffer.from(p.metadata!.encoding!).toString(), data: Buffer.from(p.data!).toString('latin1') }));
  }

  it.each([python, shell])('$name sends encrypted input and reads the encrypted result through the codec endpoint', async (example) => {
    const text = `A lantern drifts over the harbour ${randomUUID()}`;
    const key = `sealed-${randomUUID()}`;
    const requestsBefore = codec.log().split('\n').length;
    const run = await example.run(h, writeInput(data, text), key, { endpoint: codec.url, auth });
    const { result } = expectDelivered(run, text);
    const stored = await storedPayloads(`text2video-${key}`);
    expect(stored.map((p) => p.encoding)).toEqual([ENCRYPTED_ENCODING, ENCRYPTED_ENCODING]);
    for (const p of stored) {
      expect(p.data).not.toContain('lantern');
      expect(p.data).not.toContain(result.jobId);
    }
    const requests = codec.log().split('\n').slice(requestsBefore - 1).join('\n');
    expect(requests).toMatch(/^POST \/encode 200 /m);
    expect(requests).toMatch(/^POST \/decode 200 /m);
  });

  it.each([python, shell])("$name reads an encrypted failure's message (the provider's reason) through the codec endpoint", async (example) => {
    expectFailedWithProviderReason(await example.run(h, writeInput(data, `A ${DOOMED} story`), `sealed-doomed-${randomUUID()}`, { endpoint: codec.url, auth }));
  });

  it('the Python example starts nothing when the codec server refuses it (wrong token)', async () => {
    const key = `refused-${randomUUID()}`;
    const run = await python.run(h, writeInput(data, 'A story never told'), key, { endpoint: codec.url, auth: 'Bearer wrong' });
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^error: codec server encode: HTTP 401: missing or wrong Authorization: Bearer token$/m);
    await expect(h.client.workflow.getHandle(`text2video-${key}`).describe()).rejects.toThrow(/not found/);
  });
});
