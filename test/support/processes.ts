import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A Reelay worker in a process of its own (test/support/worker-process.ts), resolved once it polls.
 * With `onOutput`, everything it writes (its log on stderr included) goes there instead of the test's stderr.
 */
export function spawnWorker(env: NodeJS.ProcessEnv, { onOutput }: { onOutput?: (text: string) => void } = {}): Promise<ChildProcess> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a grandchild that SIGKILL would miss.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/support/worker-process.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', onOutput ? 'pipe' : 'inherit'],
  });
  if (onOutput) {
    child.stdout!.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  }
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker process exited early with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) resolve(child);
    });
  });
}

export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
