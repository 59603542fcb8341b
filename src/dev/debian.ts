import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { onPath } from './go-tool';

/**
 * A program the tests need from a Debian package (Prometheus, jq): found on PATH or at its Debian path,
 * else installed once with apt-get (as root: CI runs as root on a fresh machine). A package's init script
 * is kept from starting a service while it installs (a policy-rc.d that denies every start), so nothing
 * runs that we did not start.
 */
export interface DebianTool {
  path: string;
  source: 'PATH' | 'debian' | 'installed';
  installSeconds?: number;
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

function find(binary: string, debianPath: string, env: NodeJS.ProcessEnv): DebianTool | undefined {
  const found = onPath(binary, env);
  if (found) return { path: found, source: 'PATH' };
  if (fs.existsSync(debianPath)) return { path: debianPath, source: 'debian' };
  return undefined;
}

export function ensureDebianTool(opts: { binary: string; debianPackage: string; env?: NodeJS.ProcessEnv; log?: (line: string) => void; hint?: string }): DebianTool {
  const env = opts.env ?? process.env;
  const debianPath = `/usr/bin/${opts.binary}`;
  const found = find(opts.binary, debianPath, env);
  if (found) return found;
  const log = opts.log ?? (() => undefined);
  if (process.getuid?.() !== 0 || !onPath('apt-get', env)) {
    throw new Error(`no ${opts.binary} on PATH or at ${debianPath}; install Debian's ${opts.debianPackage} package${opts.hint ? ` ${opts.hint}` : ''}`);
  }
  log(`Installing ${opts.binary} (Debian package ${opts.debianPackage}, once)…`);
  const started = Date.now();
  const ownPolicy = !fs.existsSync(POLICY_RC);
  if (ownPolicy) fs.writeFileSync(POLICY_RC, `#!/bin/sh\n# written by reelay while installing ${opts.debianPackage}; removed after\nexit 101\n`, { mode: 0o755 });
  try {
    const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
    const run = (args: string[]) => {
      const r = spawnSync('apt-get', args, { env: aptEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`);
    };
    run(['update']);
    run(['install', '-y', '--no-install-recommends', opts.debianPackage]);
  } finally {
    if (ownPolicy) fs.rmSync(POLICY_RC, { force: true });
  }
  const installed = find(opts.binary, debianPath, env);
  if (!installed) throw new Error(`apt-get installed ${opts.debianPackage} but ${debianPath} is missing`);
  const installSeconds = Math.round((Date.now() - started) / 1000);
  log(`${opts.binary} installed in ${installSeconds}s: ${installed.path}`);
  return { path: installed.path, source: 'installed', installSeconds };
}
