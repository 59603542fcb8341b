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
  /**
   * The module that holds `module`, when its go.mod has replace directives (`go install pkg@version`
   * refuses those): the module is fetched through the proxy (`go mod download`), copied and built with
   * `go build` from its own go.mod, which is what `go install` would have done without them.
   */
  moduleRoot?: string;
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
  const goEnv = { ...env, GOBIN: scratch, CGO_ENABLED: env.CGO_ENABLED ?? '0' };
  const status = tool.moduleRoot ? buildInModule(tool as T & { moduleRoot: string }, scratch, goEnv) : goInstall(tool, goEnv);
  if (status.failed) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(`${status.failed} for ${tool.module}@${tool.version} failed`);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.renameSync(path.join(scratch, tool.binary), binary);
  fs.rmSync(scratch, { recursive: true, force: true });
  const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
  log(`Built ${tool.title} in ${buildSeconds}s.`);
  return { path: binary, source: 'built', buildSeconds };
}

function goInstall(tool: GoTool, env: NodeJS.ProcessEnv): { failed?: string } {
  const result = spawnSync('go', ['install', `${tool.module}@${tool.version}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  return result.status === 0 ? {} : { failed: `go install (exit code ${result.status})` };
}

function buildInModule(tool: GoTool & { moduleRoot: string }, scratch: string, env: NodeJS.ProcessEnv): { failed?: string } {
  const download = spawnSync('go', ['mod', 'download', '-json', `${tool.moduleRoot}@${tool.version}`], {
    env,
    cwd: scratch,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (download.status !== 0) return { failed: `go mod download (exit code ${download.status})` };
  const { Dir: moduleDir } = JSON.parse(download.stdout) as { Dir: string };
  // The module cache is read-only; the build runs in a writable copy inside the scratch directory.
  const src = path.join(scratch, 'src');
  fs.cpSync(moduleDir, src, { recursive: true });
  const writable = (dir: string): void => {
    fs.chmodSync(dir, 0o755);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) writable(path.join(dir, entry.name));
  };
  writable(src);
  const pkg = `./${path.posix.relative(tool.moduleRoot, tool.module)}`;
  const build = spawnSync('go', ['build', '-trimpath', '-buildvcs=false', '-o', path.join(scratch, tool.binary), pkg], {
    env,
    cwd: src,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  fs.rmSync(src, { recursive: true, force: true, maxRetries: 2 });
  return build.status === 0 ? {} : { failed: `go build (exit code ${build.status})` };
}
