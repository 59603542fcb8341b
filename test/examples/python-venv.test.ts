import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PYTHON_EXAMPLE_REQUIREMENTS, ensurePythonVenv, pythonVenvDir } from '../../src/dev/python-venv';
import { tempDir } from '../support/harness';

describe("the Python example's virtualenv", () => {
  let cache: string;
  beforeEach(() => (cache = tempDir('venv-cache')));
  afterEach(() => fs.rmSync(cache, { recursive: true, force: true }));

  it('is keyed by the content of requirements.txt, under the cache directory', () => {
    const a = path.join(cache, 'a.txt');
    const b = path.join(cache, 'b.txt');
    fs.writeFileSync(a, 'temporalio==1.35.0\n');
    fs.writeFileSync(b, 'temporalio==1.34.0\n');
    const env = { REELAY_CACHE_DIR: cache };
    expect(path.dirname(pythonVenvDir(a, env))).toBe(path.join(cache, 'python-venv'));
    expect(pythonVenvDir(a, env)).not.toBe(pythonVenvDir(b, env));
    fs.writeFileSync(b, 'temporalio==1.35.0\n');
    expect(pythonVenvDir(a, env)).toBe(pythonVenvDir(b, env));
    expect(fs.readFileSync(PYTHON_EXAMPLE_REQUIREMENTS, 'utf8')).toMatch(/^temporalio==\d+\.\d+\.\d+$/m);
  });

  it('uses REELAY_PYTHON_VENV or the cache before building, and says what is missing', () => {
    expect(() => ensurePythonVenv({ env: { REELAY_PYTHON_VENV: cache } })).toThrow(`REELAY_PYTHON_VENV points at ${cache}, which has no bin/python`);
    const env = { REELAY_CACHE_DIR: cache, PATH: '/nonexistent' };
    expect(() => ensurePythonVenv({ env })).toThrow(/No python3 on PATH \(or REELAY_PYTHON\)/);
    const dir = pythonVenvDir(PYTHON_EXAMPLE_REQUIREMENTS, env);
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'bin/python'), '');
    expect(ensurePythonVenv({ env })).toEqual({ python: path.join(dir, 'bin/python'), dir, source: 'cache' });
  });

  it('is built in a scratch directory renamed into the cache, and runs from there', () => {
    // No packages: nothing to fetch, the build and the rename are what is under test.
    const requirements = path.join(cache, 'requirements.txt');
    fs.writeFileSync(requirements, '# nothing\n');
    const built = ensurePythonVenv({ requirements, env: { ...process.env, REELAY_CACHE_DIR: cache, REELAY_PYTHON_VENV: '' } });
    expect(built).toMatchObject({ source: 'built', dir: pythonVenvDir(requirements, { REELAY_CACHE_DIR: cache }) });
    expect(fs.readdirSync(path.join(cache, 'python-venv'))).toEqual([path.basename(built.dir)]);
    const prefix = spawnSync(built.python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' });
    expect(prefix.stdout.trim()).toBe(built.dir);
    expect(ensurePythonVenv({ requirements, env: { ...process.env, REELAY_CACHE_DIR: cache, REELAY_PYTHON_VENV: '' } }).source).toBe('cache');
  });
});
