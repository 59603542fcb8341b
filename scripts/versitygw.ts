// Make sure versitygw (the S3-compatible server of the tests and the demo) is at hand: REELAY_VERSITYGW,
// PATH, cache, or built once from its Go module. `--print-path` prints only its path, for scripts.
import { ensureVersitygw, versitygwCacheDir } from '../src/dev/objectstore';

const quiet = process.argv.includes('--print-path');
try {
  const gw = ensureVersitygw({ log: (line) => console.error(line) });
  if (quiet) console.log(gw.path);
  else {
    console.log(`versitygw: ${gw.path} (${gw.buildSeconds !== undefined ? `built in ${gw.buildSeconds}s` : `from ${gw.source}`})`);
    console.log(`cache: ${versitygwCacheDir()}`);
  }
} catch (err) {
  console.error(`Could not provide versitygw: ${(err as Error).message}`);
  process.exit(1);
}
