import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The servers the harness runs (the Temporal dev server, the versitygw object store) come from their Go
 * modules, built once into Reelay's cache directory: nothing is downloaded at run time by a tool's own
 * downloader. This finds one, or builds it.
 */

/** Reelay's cache directory: `REELAY_CACHE_DIR`, else `$XDG_CACHE_HOME/reelay`, else `~/.cache/reelay`. */
export function reelayCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REELAY_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'reelay');
}

export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface GoTool {
  /** The binary's name (on PATH and in the cache). */
  binary: string;
  /** How people name it in messages. */
  title: string;
  /** The `go install` package path. */
  module: string;
  version: string;
  /** The cache subdirectory (`<cache>/<cacheName>/<version>/<binary>`). */
  cacheName: string;
  /** A variable that points at a binary to use instead. */
  envVar: string;
}

export interface EnsuredGoTool<Var extends string = string> {
  path: string;
  source: Var | 'PATH' | 'cache' | 'built';
  buildSeconds?: number;
}

export function goToolCacheDir(tool: Pick<GoTool, 'cacheName' | 'version'>, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(reelayCacheDir(env), tool.cacheName, tool.version);
}

/**
 * The tool's binary: the one `tool.envVar` names, then one on PATH, then the cache, else `go install`
 * from the Go module proxy into a scratch directory renamed into the cache (a killed build never leaves a
 * half binary).
 */
export function ensureGoTool<T extends GoTool>(
  tool: T,
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): EnsuredGoTool<T['envVar']> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const pointed = env[tool.envVar];
  if (pointed) {
    if (!fs.existsSync(pointed)) throw new Error(`${tool.envVar} points at ${pointed}, which does not exist`);
    return { path: pointed, source: tool.envVar };
  }
  const fromPath = onPath(tool.binary, env);
  if (fromPath) return { path: fromPath, source: 'PATH' };

  const dir = goToolCacheDir(tool, env);
  const binary = path.join(dir, tool.binary);
  if (fs.existsSync(binary)) return { path: binary, source: 'cache' };

  if (!onPath('go', env)) {
    throw new Error(`No ${tool.title} found (${tool.envVar}, PATH, cache) and no Go toolchain to build one. Install Go 1.22+ or set ${tool.envVar}.`);
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(path.dirname(dir), 'build-'));
  log(`Building ${tool.title} ${tool.version} from its Go module (once; cached in ${dir})…`);
  const started = Date.now();
  const result = spawnSync('go', ['install', `${tool.module}@${tool.version}`], {
    env: { ...env, GOBIN: scratch, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(`go install ${tool.module}@${tool.version} failed with exit code ${result.status}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.renameSync(path.join(scratch, tool.binary), binary);
  fs.rmSync(scratch, { recursive: true, force: true });
  const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
  log(`Built ${tool.title} in ${buildSeconds}s.`);
  return { path: binary, source: 'built', buildSeconds };
}
