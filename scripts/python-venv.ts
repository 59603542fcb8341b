// Make sure the Python example's virtualenv (examples/python/requirements.txt) is at hand: REELAY_PYTHON_VENV,
// the cache, or built once with pip. `--print-path` prints only its interpreter's path, for scripts.
import { ensurePythonVenv } from '../src/dev/python-venv';

const quiet = process.argv.includes('--print-path');
try {
  const venv = ensurePythonVenv({ log: (line) => console.error(line) });
  if (quiet) console.log(venv.python);
  else console.log(`python venv: ${venv.dir} (${venv.buildSeconds !== undefined ? `built in ${venv.buildSeconds}s` : `from ${venv.source}`})`);
} catch (err) {
  console.error(`Could not provide the Python example's virtualenv: ${(err as Error).message}`);
  process.exit(1);
}
