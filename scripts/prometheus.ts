// Make sure Prometheus (the real server the metrics test scrapes through) is at hand: PROMETHEUS, PATH,
// /usr/bin/prometheus, or Debian's package installed once. `--print-path` prints only its path, for scripts.
import { ensurePrometheus } from '../src/dev/prometheus';

const quiet = process.argv.includes('--print-path');
try {
  const p = ensurePrometheus({ log: (line) => console.error(line) });
  if (quiet) console.log(p.path);
  else console.log(`prometheus: ${p.path} (${p.installSeconds !== undefined ? `installed in ${p.installSeconds}s` : `from ${p.source}`})`);
} catch (err) {
  console.error(`Could not provide prometheus: ${(err as Error).message}`);
  process.exit(1);
}
