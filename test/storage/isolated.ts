import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Processes that share no disk: each runs in a mount namespace of its own (`unshare -m`, private
 * propagation) where the whole root file system is read-only and /tmp and /dev/shm are fresh tmpfs
 * mounts nobody else sees; the checkout stays readable at its own path, wherever it lives. The host's
 * /tmp (the sandbox's files, the dev server's database, the object store's root, the other processes'
 * files) is hidden; what such a process writes lives in its own memory and vanishes with it. Only the
 * network is shared: Temporal, the providers and the object store on loopback.
 */

const ROOT = path.resolve(__dirname, '../..');

/** Whether this machine can make such namespaces (root, or CAP_SYS_ADMIN, and a kernel that allows it). */
export function isolationProblem(): string | undefined {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /tmp && mount -o remount,bind,ro / && ! touch /.reelay-probe 2>/dev/null'], { encoding: 'utf8' });
  if (r.error) return `unshare is not available: ${r.error.message}`;
  if (r.status !== 0) return `unshare -m cannot make a private, read-only mount namespace here (exit ${r.status}): ${r.stderr.trim()}`;
  return undefined;
}

/**
 * The shell prelude of an isolated process: copies `files` (host paths, e.g. the workflow bundle) into
 * its private /dev/shm first, then hides /tmp and makes / read-only; `$PRIVATE` is its private /tmp.
 */
function prelude(copies: Array<{ from: string; to: string }>): string {
  return [
    'set -e',
    'mount -t tmpfs tmpfs /dev/shm',
    ...copies.map((c) => `cp "${c.from}" "/dev/shm/${c.to}"`),
    // The checkout stays visible (read-only, as everywhere else) even when it lives under the host's
    // /tmp, as a CI clone may: it is held aside before /tmp is hidden and put back at its own path.
    `mkdir /dev/shm/.checkout && mount --bind "${ROOT}" /dev/shm/.checkout`,
    'mount -t tmpfs tmpfs /tmp',
    `if [ ! -d "${ROOT}" ]; then mkdir -p "${ROOT}" && mount --bind /dev/shm/.checkout "${ROOT}" && mount -o remount,bind,ro "${ROOT}"; fi`,
    'umount /dev/shm/.checkout && rmdir /dev/shm/.checkout',
    'mount -o remount,bind,ro /',
    'mkdir -p /tmp/out /tmp/state /tmp/home',
    'export TMPDIR=/tmp HOME=/tmp/home REELAY_OUTPUT_DIR=/tmp/out REELAY_STATE_DIR=/tmp/state',
  ].join('\n');
}

/**
 * A Reelay worker (test/support/worker-process.ts) alone in its namespace; resolves once it polls. Its
 * pid is the worker's own (unshare and sh exec into it), so its identity is `<pid>@<host>`, and its
 * private files are visible from the host only through /proc/<pid>/root.
 */
export function spawnIsolatedWorker(env: NodeJS.ProcessEnv, bundle: string, onOutput: (text: string) => void): Promise<ChildProcess> {
  const script = `${prelude([{ from: bundle, to: 'workflows.js' }])}\nexport REELAY_TEST_WORKFLOW_BUNDLE=/dev/shm/workflows.js\nexec "${process.execPath}" --import tsx test/support/worker-process.ts`;
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (c: Buffer) => onOutput(c.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`isolated worker exited early (${code ?? signal})`)));
    child.stdout!.on('data', (c: Buffer) => {
      onOutput(c.toString());
      if (c.toString().includes('READY')) resolve(child);
    });
  });
}

/**
 * The `reelay` CLI alone in its namespace, with `files` (name → content) written into its private /tmp
 * first (a manifest, an input JSON): a starter that shares no disk with the workers.
 */
export function runIsolatedCli(env: NodeJS.ProcessEnv, files: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const writes = Object.keys(files).map((name, i) => `printf '%s' "$REELAY_FILE_${i}" > "/tmp/${name}"`);
  const script = `${prelude([])}\n${writes.join('\n')}\ncd /tmp\nexec "${process.execPath}" "${path.join(ROOT, 'bin/reelay')}" ${args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')}`;
  const fileEnv = Object.fromEntries(Object.values(files).map((content, i) => [`REELAY_FILE_${i}`, content]));
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { cwd: ROOT, env: { ...env, ...fileEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
