import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/harness';
import { isolationProblem, runIsolatedCli } from './isolated';

/**
 * The isolation the no-shared-disk test relies on (test/storage/isolated.ts): a process in its own mount
 * namespace sees none of the host's /tmp, cannot write anywhere but its private tmpfs, and what it writes
 * there is gone for everyone else.
 */
describe('an isolated process', () => {
  it('shares no writable disk with the host or with another isolated process', async () => {
    const problem = isolationProblem();
    if (problem) throw new Error(`this machine cannot isolate processes: ${problem}`);
    const dir = tempDir('isolation');
    const hostFile = path.join(dir, 'host.txt');
    fs.writeFileSync(hostFile, 'host');
    const env = { PATH: process.env.PATH };
    // The CLI is the process under test here only as a way in: `--help` exits at once; the shell around it checks.
    const probe = await runIsolatedCli(env, { 'mine.txt': 'private' }, ['--help']);
    expect(probe.code).toBe(0);
    const sh = async (script: string) => {
      const { spawn } = await import('node:child_process');
      return new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs /dev/shm && mount -t tmpfs tmpfs /tmp && mount -o remount,bind,ro / && ${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('close', (code) => resolve({ code, out }));
      });
    };
    // The host's /tmp is hidden; the repository and every other directory are read-only; /tmp is writable.
    expect((await sh(`test ! -e '${hostFile}' && echo hidden`)).out.trim()).toBe('hidden');
    expect((await sh(`touch '${path.resolve(__dirname, 'x')}' 2>/dev/null || echo refused`)).out.trim()).toBe('refused');
    expect((await sh(`touch /root/reelay-isolation 2>/dev/null || echo refused`)).out.trim()).toBe('refused');
    expect((await sh(`echo w > /tmp/w && cat /tmp/w`)).out.trim()).toBe('w');
    // What one isolated process writes to its /tmp, another never sees, and neither does the host.
    expect((await sh(`echo secret > /tmp/one.txt; ls /tmp`)).out.trim()).toBe('one.txt');
    expect((await sh(`ls /tmp | wc -l`)).out.trim()).toBe('0');
    expect(fs.existsSync('/tmp/one.txt')).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
