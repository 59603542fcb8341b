import type { ChildProcess } from 'node:child_process';

/**
 * A real server the harness started (versitygw, Prometheus, Jaeger): whether it has exited, and a stop
 * that asks politely (SIGTERM), insists after 5 s (SIGKILL), waits for the exit and then cleans up.
 */
export interface ServerProcess {
  /** Its exit code once it has exited (-1 for a signal), else null. */
  exitCode(): number | null;
  stop(): Promise<void>;
}

export function serverProcess(child: ChildProcess, cleanup: () => void = () => undefined): ServerProcess {
  let exited: number | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code ?? -1;
      resolve();
    }),
  );
  return {
    exitCode: () => exited,
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(killer);
      }
      cleanup();
    },
  };
}
