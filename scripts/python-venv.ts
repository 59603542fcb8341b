// Make sure the Python example's virtualenv (examples/python/requirements.txt) is at hand: REELAY_PYTHON_VENV,
// the cache, or built once with pip; and jq for the shell example (Debian's, installed once when absent).
// `--print-path` prints only the interpreter's path, for scripts.
import { ensureDebianTool } from '../src/dev/debian';
import { ensurePythonVenv } from '../src/dev/python-venv';

const quiet = process.argv.includes('--print-path');
try {
  const venv = ensurePythonVenv({ log: (line) => console.error(line) });
  // The shell example (examples/shell/start.sh) reads the temporal CLI's JSON with jq.
  ensureDebianTool({ binary: 'jq', debianPackage: 'jq', log: (line) => console.error(line) });
  if (quiet) console.log(venv.python);
  else console.log(`python venv: ${venv.dir} (${venv.buildSeconds !== undefined ? `built in ${venv.buildSeconds}s` : `from ${venv.source}`})`);
} catch (err) {
  console.error(`Could not provide the Python example's virtualenv: ${(err as Error).message}`);
  process.exit(1);
}
