// Make sure headless Chromium (the real browser the dashboard tests drive) is at hand: CHROMIUM, PATH,
// /usr/bin/chromium, or Debian's package installed once. `--print-path` prints only its path, for scripts.
import { ensureChromium } from '../src/dev/chromium';

const quiet = process.argv.includes('--print-path');
try {
  const c = ensureChromium({ log: (line) => console.error(line) });
  if (quiet) console.log(c.path);
  else console.log(`chromium: ${c.path} (${c.installSeconds !== undefined ? `installed in ${c.installSeconds}s` : `from ${c.source}`})`);
} catch (err) {
  console.error(`Could not provide chromium: ${(err as Error).message}`);
  process.exit(1);
}
