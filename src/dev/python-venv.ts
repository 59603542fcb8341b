import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { onPath, reelayCacheDir } from './go-tool';

/**
 * The Python example (examples/python) runs in a virtualenv of its own pinned requirements, built once
 * into Reelay's cache like the `temporal` CLI and versitygw: `<cache>/python-venv/<hash of
 * requirements.txt>/`, so a changed pin builds a new one. pip installs from the package index and
 * nothing is downloaded when the example runs.
 */

export const PYTHON_EXAMPLE_REQUIREMENTS = path.resolve(__dirname, '../../examples/python/requirements.txt');
/** temporalio 1.35 supports Python 3.10 and later. */
const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface EnsuredPythonVenv {
  /** The venv's interpreter: run the example with it (`<venv>/bin/python start_pipeline.py …`). */
  python: string;
  dir: string;
  source: 'REELAY_PYTHON_VENV' | 'cache' | 'built';
  buildSeconds?: number;
}

export function pythonVenvDir(requirements = PYTHON_EXAMPLE_REQUIREMENTS, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(fs.readFileSync(requirements)).digest('hex').slice(0, 16);
  return path.join(reelayCacheDir(env), 'python-venv', hash);
}

const venvPython = (dir: string) => path.join(dir, 'bin', 'python');

function run(command: string, args: string[], env: NodeJS.ProcessEnv, what: string): void {
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed with exit code ${result.status}`);
}

/** The interpreter the venv is made from: REELAY_PYTHON, else python3 on PATH, at least 3.10. */
function basePython(env: NodeJS.ProcessEnv): string {
  const python = env.REELAY_PYTHON || onPath('python3', env);
  if (!python) throw new Error('No python3 on PATH (or REELAY_PYTHON) to build the Python example\'s virtualenv; install Python 3.10+');
  const version = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { env, encoding: 'utf8' });
  const [major, minor] = (version.stdout ?? '').trim().split('.').map(Number);
  if (version.status !== 0 || major === undefined || minor === undefined) throw new Error(`${python} does not run: ${version.stderr || version.error?.message}`);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new Error(`${python} is Python ${major}.${minor}; the Python example needs ${MIN_PYTHON.join('.')}+ (set REELAY_PYTHON)`);
  }
  return python;
}

/**
 * The example's venv: the one `REELAY_PYTHON_VENV` names, then the cache, else `python3 -m venv` and
 * `pip install -r requirements.txt` in a scratch directory renamed into the cache (a killed build never
 * leaves half a venv). It is used through its `bin/python` only: a moved venv keeps working that way,
 * while its console scripts (pip, activate) still name the scratch path.
 */
export function ensurePythonVenv(
  opts: { requirements?: string; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): EnsuredPythonVenv {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const pointed = env.REELAY_PYTHON_VENV;
  if (pointed) {
    if (!fs.existsSync(venvPython(pointed))) throw new Error(`REELAY_PYTHON_VENV points at ${pointed}, which has no bin/python`);
    return { python: venvPython(pointed), dir: pointed, source: 'REELAY_PYTHON_VENV' };
  }
  const requirements = opts.requirements ?? PYTHON_EXAMPLE_REQUIREMENTS;
  const dir = pythonVenvDir(requirements, env);
  if (fs.existsSync(venvPython(dir))) return { python: venvPython(dir), dir, source: 'cache' };

  const python = basePython(env);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(path.dirname(dir), 'build-'));
  log(`Building the Python example's virtualenv from ${path.relative(process.cwd(), requirements) || requirements} (once; cached in ${dir})…`);
  const started = Date.now();
  try {
    run(python, ['-m', 'venv', scratch], env, `${python} -m venv`);
    run(
      venvPython(scratch),
      ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--quiet', '-r', requirements],
      env,
      `pip install -r ${requirements}`,
    );
    try {
      fs.renameSync(scratch, dir);
    } catch (err) {
      // Another process built it meanwhile: use theirs.
      if (!fs.existsSync(venvPython(dir))) throw err;
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
  log(`Built the Python virtualenv in ${buildSeconds}s.`);
  return { python: venvPython(dir), dir, source: 'built', buildSeconds };
}
