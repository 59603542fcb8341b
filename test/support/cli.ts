import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Harness } from './harness';
import { PAYLOAD_KEY_VARIABLES, temporalAddress } from './harness';

export const ROOT = path.resolve(__dirname, '../..');
export const BIN = path.join(ROOT, 'bin/reelay');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the real `reelay` CLI as a child process against the test dev server and a harness's queue.
 * Payload encryption is off unless `env` sets its variables (REELAY_PAYLOAD_KEY …).
 */
export function runCli(h: Harness, args: string[], { command = [process.execPath, BIN], env = {} }: { command?: string[]; env?: Record<string, string> } = {}): Promise<CliRun> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PAYLOAD_KEY_VARIABLES) delete base[name];
  return runProcess([...command, ...args], {
    ...base,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: 'default',
    REELAY_TASK_QUEUE: h.taskQueue,
    REELAY_OUTPUT_DIR: h.outputRoot,
    NO_COLOR: '1',
    REELAY_DEBUG: '',
    ...env,
  });
}

/**
 * A child process in the repository root, its output captured. Asynchronous on purpose: a test's worker
 * runs in the jest process and must go on while the child waits for it.
 */
export function runProcess(argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function parseJsonOutput<T = Record<string, unknown>>(r: CliRun): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
