import { readFile } from 'node:fs/promises';
import { UsageError, num, oneOf, str, type CommandSpec, type Parsed } from '../args';
import { note, print, untilSignal } from '../context';
import { DEFAULT_PORT_BASE, SPEEDS, SPEED_TIMINGS, startSandboxOnPorts } from '../stack';

export const spec: CommandSpec = {
  name: 'sandbox',
  summary: 'Run the local provider simulators (LipDub, DubLab, text2video, Vivid Flow, AI Studio) and their object store until SIGINT.',
  usage: ['sandbox [--port-base 7300] [--speed realistic|fast|instant] [--profile faithful|docs-minimal] [--faults profile.json]'],
  options: {
    'port-base': { type: 'string', value: 'PORT', description: `Object store on PORT, LipDub PORT+1, DubLab PORT+2, text2video PORT+3, Vivid Flow PORT+4, AI Studio PORT+5 (default ${DEFAULT_PORT_BASE})` },
    speed: { type: 'string', value: 'SPEED', description: 'Job timings: realistic (tens of seconds), fast (seconds, default), instant' },
    profile: {
      type: 'string',
      value: 'PROFILE',
      description: 'How the providers answer: faithful (default; the shapes in docs/provider-assumptions.md) or docs-minimal (exactly the fields the provider docs show, ids in their least convenient documented form, 20 s download URLs, HTML 502/503 pages)',
    },
    faults: { type: 'string', value: 'FILE', description: 'Inject faults from this JSON fault profile (docs/fault-injection.md); change it later with POST /_sandbox/faults' },
  },
  positionals: { min: 0, max: 0, names: '' },
  details: [
    `Default ports: ${DEFAULT_PORT_BASE} object store, ${DEFAULT_PORT_BASE + 1} LipDub, ${DEFAULT_PORT_BASE + 2} DubLab, ${DEFAULT_PORT_BASE + 3} text2video, ${DEFAULT_PORT_BASE + 4} Vivid Flow, ${DEFAULT_PORT_BASE + 5} AI Studio.`,
    'Listens on loopback only. Point a worker at it with the printed export lines.',
  ],
};

export async function run({ values }: Parsed): Promise<number> {
  const portBase = num(values, 'port-base', { integer: true, min: 1 }) ?? DEFAULT_PORT_BASE;
  const speed = oneOf(values, 'speed', SPEEDS) ?? 'fast';
  const { formatSandboxBanner, parseFaultProfile, SANDBOX_PROFILES } = await import('../../sandbox');
  const profile = oneOf(values, 'profile', SANDBOX_PROFILES) ?? 'faithful';
  const faultsFile = str(values, 'faults');
  // Read and validated before any port opens, so a bad profile is a usage error naming the field.
  let faults: ReturnType<typeof parseFaultProfile> | undefined;
  if (faultsFile !== undefined) {
    const json = await readProfile(faultsFile);
    try {
      faults = parseFaultProfile(json);
    } catch (err) {
      throw new UsageError(`--faults: ${faultsFile}: ${(err as Error).message}`);
    }
  }
  const sandbox = await startSandboxOnPorts(portBase, SPEED_TIMINGS[speed], { profile });
  if (faults) sandbox.setFaults(faults);
  print(formatSandboxBanner(sandbox));
  note(`Speed: ${speed}. Profile: ${profile}.${faults ? ` Faults: ${faults.rules.length} rule(s) from ${faultsFile}, seed ${faults.seed}.` : ''} Ctrl-C to stop.`);
  const signal = await untilSignal();
  note(`${signal}: stopping the sandbox…`);
  await sandbox.close();
  return 0;
}

async function readProfile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--faults: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--faults: ${file} is not JSON (${(err as Error).message})`);
  }
}

