import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { progressQuery, type PipelineProgress } from '../../src/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { PAYLOAD_KEY_ENV, PAYLOAD_KEY_ID_ENV, PAYLOAD_OLD_KEYS_ENV, reelayDataConverter } from '../../src/codec';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { createReelayWorker, type ReelayWorker } from '../../src/workers/worker';
import { encryptingWorkflowBundle } from './bundle';

let runtimeInstalled = false;
/** Keep worker logs to errors in tests (REELAY_TEST_LOG_LEVEL=INFO to see them). */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.REELAY_TEST_LOG_LEVEL as LogLevel) || 'ERROR') });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}

/** Address of the dev server started by global-setup.ts. */
export function temporalAddress(): string {
  const address = process.env.REELAY_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('REELAY_TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (global setup starts Temporal)');
  return address;
}

/** A client of the test dev server; with `env` holding REELAY_PAYLOAD_KEY …, one that encrypts like Reelay's. */
export async function testClient(env?: NodeJS.ProcessEnv): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection, namespace: 'default', ...(env ? { dataConverter: reelayDataConverter(env) } : {}) });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `reelay-${prefix}-`));
}

/** A file of `size` pseudo-random bytes (so hashes are meaningful), under `dir`. */
export function makeFile(dir: string, name: string, size: number, seed = name): string {
  const file = path.join(dir, name);
  const block = Buffer.alloc(Math.min(size, 64 * 1024));
  let x = [...seed].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
  for (let i = 0; i < block.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    block[i] = x >>> 24;
  }
  const fd = fs.openSync(file, 'w');
  for (let written = 0; written < size; written += block.length) fs.writeSync(fd, block, 0, Math.min(block.length, size - written));
  fs.closeSync(fd);
  return file;
}

/** Sandbox timings of a few hundred milliseconds a step: whole pipelines in seconds, progress still visible. */
export const FAST_TIMINGS = {
  lipdub: { shotMs: 150, trainingMs: 150, generateQueueMs: 50, generateMs: 150 },
  dublab: { queueMs: 50, processMs: 150 },
  text2video: { queueMs: 50, stageMs: 50 },
  vividflow: { processMs: 100, workers: 2 },
  aistudio: { pendingMs: 50, runMs: 100 },
};

/** Polling fast enough for sandbox timings in the tens of milliseconds. */
export const FAST_POLLING = { initialIntervalSeconds: 0.1, maxIntervalSeconds: 0.5, backoffCoefficient: 1.5, deadlineMinutes: 5 };

export interface Harness {
  sandbox: Sandbox;
  client: Client;
  taskQueue: string;
  outputRoot: string;
  env: NodeJS.ProcessEnv;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export const PAYLOAD_KEY_VARIABLES = [PAYLOAD_KEY_ENV, PAYLOAD_KEY_ID_ENV, PAYLOAD_OLD_KEYS_ENV];

export interface HarnessOptions {
  /**
   * Payload encryption (off by default): the variables of src/codec (REELAY_PAYLOAD_KEY, …), given to the
   * client and the worker alike; the worker then runs a bundle built with the encrypting failure converter.
   */
  encryption?: { REELAY_PAYLOAD_KEY?: string; REELAY_PAYLOAD_KEY_ID?: string; REELAY_PAYLOAD_OLD_KEYS?: string };
  /** More worker variables (REELAY_WEBHOOK_SECRET, …), on top of the rest. */
  env?: NodeJS.ProcessEnv;
  /** A workflow bundle of the test's own (with a probe interceptor, say) instead of global setup's. */
  workflowBundlePath?: string;
}

/**
 * A sandbox, a client and an in-process worker on a task queue of its own, so test files never see each
 * other's workflows. The worker runs the prebuilt bundle from global setup.
 */
export async function startHarness(sandboxOptions: Parameters<typeof startSandbox>[0] = {}, opts: HarnessOptions = {}): Promise<Harness> {
  const sandbox = await startSandbox(sandboxOptions);
  const taskQueue = `test-${randomUUID()}`;
  const outputRoot = tempDir('out');
  // Vivid Flow's documented pace (2000/day) would make every test wait 43 s a request: tests that are
  // about pacing set their own rate.
  // Webhook receivers in tests listen on loopback, which production workers refuse by default.
  const env: NodeJS.ProcessEnv = {
    REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '50',
    REELAY_WEBHOOK_ALLOW_PRIVATE: 'true',
    // Tests stop workers mid-activity on purpose: no grace unless a test is about it (test/workflows/drain.test.ts).
    REELAY_SHUTDOWN_GRACE: '0',
    ...process.env,
    ...sandbox.env(),
    REELAY_OUTPUT_DIR: outputRoot,
    REELAY_TASK_QUEUE: taskQueue,
    ...(opts.encryption ?? {}),
    ...(opts.env ?? {}),
  };
  // Off means off, whatever the shell running the tests exports.
  if (!opts.encryption) for (const name of PAYLOAD_KEY_VARIABLES) delete env[name];
  const client = await testClient(opts.encryption ? env : undefined);
  let worker: ReelayWorker | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;

  const harness: Harness = {
    sandbox,
    client,
    taskQueue,
    outputRoot,
    env,
    async startWorker() {
      quietRuntime();
      nativeConnection ??= await NativeConnection.connect({ address: temporalAddress() });
      worker = await createReelayWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        outputRoot,
        env,
        workflowBundle: { codePath: opts.workflowBundlePath ?? (opts.encryption ? await encryptingWorkflowBundle() : process.env.REELAY_TEST_WORKFLOW_BUNDLE!) },
      });
      running = worker.run();
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = undefined;
      running = undefined;
    },
    async close() {
      await harness.stopWorker();
      await nativeConnection?.close();
      await client.connection.close();
      await sandbox.close();
      fs.rmSync(outputRoot, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Query `progress` until `until` holds (the workflow's own view, not a timer guess). */
export async function waitForProgress(handle: WorkflowHandle, until: (p: PipelineProgress) => boolean, timeoutMs = 60_000): Promise<PipelineProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await handle.query(progressQuery).catch(() => undefined);
    if (p && until(p)) return p;
    if (Date.now() > deadline) throw new Error(`progress never reached the expected state; last: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
