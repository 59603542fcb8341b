// Make sure Jaeger (the trace backend of the tests) is at hand: REELAY_JAEGER, PATH, cache, or built once
// from its Go module. `--print-path` prints only its path, for scripts.
import { ensureJaeger, jaegerCacheDir } from '../src/dev/jaeger';

const quiet = process.argv.includes('--print-path');
try {
  const jaeger = ensureJaeger({ log: (line) => console.error(line) });
  if (quiet) console.log(jaeger.path);
  else {
    console.log(`jaeger: ${jaeger.path} (${jaeger.buildSeconds !== undefined ? `built in ${jaeger.buildSeconds}s` : `from ${jaeger.source}`})`);
    console.log(`cache: ${jaegerCacheDir()}`);
  }
} catch (err) {
  console.error(`Could not provide Jaeger: ${(err as Error).message}`);
  process.exit(1);
}
