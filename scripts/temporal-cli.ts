// Make sure a `temporal` CLI is at hand (TEMPORAL_CLI, PATH, cache, or built once from its Go module),
// and say which. `--print-path` prints only its path, for scripts.
import { ensureTemporalCli, temporalCacheDir } from '../src/dev/temporal';

const quiet = process.argv.includes('--print-path');
try {
  const cli = ensureTemporalCli({ log: (line) => console.error(line) });
  if (quiet) console.log(cli.path);
  else {
    console.log(`temporal CLI: ${cli.path} (${cli.buildSeconds !== undefined ? `built in ${cli.buildSeconds}s` : `from ${cli.source}`})`);
    console.log(`cache: ${temporalCacheDir()}`);
  }
} catch (err) {
  console.error(`Could not provide the Temporal CLI: ${(err as Error).message}`);
  process.exit(1);
}
