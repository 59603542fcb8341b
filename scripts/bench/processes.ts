/**
 * Workers as processes of their own (their CPU and RSS are then theirs alone), workflow bundles built
 * once per run, and the small loops the scale sections share: bounded concurrency and waiting for a
 * task queue's workflows to close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleOptions } from '../../src/codec';
import { WORKFLOWS_PATH } from '../../src/workers/worker';
import type { BenchContext } from './types';

const ROOT = path.resolve(__dirname, '../..');
export const NOOP_WORKFLOWS_PATH = require.resolve('./workflows/noop');
export const SLOTS_WORKFLOWS_PATH = require.resolve('./workflows/slots');

/** `slots`: the Reelay worker running the limiter and the slot holders of scripts/bench/workflows/slots.ts. */
export type WorkerKind = 'reelay' | 'noop' | 'slots';

const WORKFLOWS_OF: Record<WorkerKind, string> = { reelay: WORKFLOWS_PATH, noop: NOOP_WORKFLOWS_PATH, slots: SLOTS_WORKFLOWS_PATH };

const bundles = new Map<string, Promise<string>>();

/** The workflow bundle a worker kind runs, built once per benchmark run into ctx.dir. */
export function workflowBundle(ctx: BenchContext, kind: WorkerKind): Promise<string> {
  const key = `${ctx.dir} ${kind}`;
  let file = bundles.get(key);
  if (!file) {
    const out = path.join(ctx.dir, `${kind}-workflows.js`);
    const quiet = () => undefined;
    file = bundleWorkflowCode({
      workflowsPath: WORKFLOWS_OF[kind],
      ...(kind !== 'noop' ? workflowBundleOptions(process.env) : {}),
      logger: { info: quiet, warn: quiet, debug: quiet, trace: quiet, log: quiet, error: ctx.log },
    }).then(({ code }) => {
      fs.writeFileSync(out, code);
      return out;
    });
    bundles.set(key, file);
  }
  return file;
}

function nodeArgs(): string[] {
  return (process.env.REELAY_BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

export interface WorkerProcess {
  pid: number;
  stop(): Promise<void>;
}

/**
 * The environment of a bench worker process: this process's, the sandbox's provider URLs and keys, the
 * bench server's address, its task queue, the prebuilt bundle and an output directory; quiet logs.
 */
export function benchWorkerEnv(opts: { providers: NodeJS.ProcessEnv; address: string; taskQueue: string; bundle: string; outputDir: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...opts.providers,
    TEMPORAL_ADDRESS: opts.address,
    REELAY_TASK_QUEUE: opts.taskQueue,
    REELAY_WORKFLOW_BUNDLE: opts.bundle,
    REELAY_OUTPUT_DIR: opts.outputDir,
    REELAY_LOG_LEVEL: 'WARN',
  };
}

/**
 * Start scripts/bench/worker.ts as `node --import tsx` (the pid is node's own, not a wrapper's) and
 * resolve once it polls. Its stderr goes to `logFile`. REELAY_BENCH_WORKER_NODE_ARGS adds node flags
 * (`--cpu-prof --cpu-prof-dir=/tmp/prof` profiles the workers; NODE_OPTIONS refuses that flag).
 */
export async function startWorkerProcess(opts: { kind: WorkerKind; env: NodeJS.ProcessEnv; logFile: string; readyTimeoutMs?: number }): Promise<WorkerProcess> {
  const err = fs.openSync(opts.logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs(), '--import', 'tsx', path.join(__dirname, 'worker.ts'), opts.kind], {
    cwd: ROOT,
    env: opts.env,
    stdio: ['ignore', 'pipe', err],
  });
  fs.closeSync(err);
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench worker (${opts.kind}) not ready within ${(opts.readyTimeoutMs ?? 120_000) / 1000} s; see ${opts.logFile}`));
    }, opts.readyTimeoutMs ?? 120_000);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`bench worker (${opts.kind}) exited (${signal ?? code}) before it was ready; see ${opts.logFile}`));
    });
  });
  return {
    pid: child.pid!,
    stop: async () => {
      if (exited) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      await exit;
      clearTimeout(kill);
    },
  };
}

/** Run `fn` over `items` with at most `limit` calls in flight; the first error stops new calls and is thrown. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed !== undefined) throw failed;
}

export const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Workflows of a task queue in a state, from visibility (`status` is an ExecutionStatus). */
export async function countOnQueue(client: Client, taskQueue: string, status?: 'Running' | 'Completed' | 'closed'): Promise<number> {
  const filter = status === 'closed' ? ` AND ExecutionStatus != 'Running'` : status ? ` AND ExecutionStatus = '${status}'` : '';
  return (await client.workflow.count(`TaskQueue = '${taskQueue}'${filter}`)).count;
}

/** Resolves with the closed count once `n` workflows of the queue closed, or at the deadline. */
export async function waitForClosed(client: Client, taskQueue: string, n: number, deadline: number, everyMs = 250): Promise<number> {
  for (;;) {
    const closed = await countOnQueue(client, taskQueue, 'closed');
    if (closed >= n || Date.now() > deadline) return closed;
    await sleepMs(everyMs);
  }
}
