import { num, oneOf, type CommandSpec, type Parsed } from '../args';
import { note, print, untilSignal } from '../context';
import { DEFAULT_PORT_BASE, SPEEDS, SPEED_TIMINGS, startSandboxOnPorts } from '../stack';

export const spec: CommandSpec = {
  name: 'sandbox',
  summary: 'Run the local provider simulators (LipDub, DubLab, text2video, Vivid Flow, AI Studio) and their object store until SIGINT.',
  usage: ['sandbox [--port-base 7300] [--speed realistic|fast|instant]'],
  options: {
    'port-base': { type: 'string', value: 'PORT', description: `Object store on PORT, LipDub PORT+1, DubLab PORT+2, text2video PORT+3, Vivid Flow PORT+4, AI Studio PORT+5 (default ${DEFAULT_PORT_BASE})` },
    speed: { type: 'string', value: 'SPEED', description: 'Job timings: realistic (tens of seconds), fast (seconds, default), instant' },
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
  const { formatSandboxBanner } = await import('../../sandbox');
  const sandbox = await startSandboxOnPorts(portBase, SPEED_TIMINGS[speed]);
  print(formatSandboxBanner(sandbox));
  note(`Speed: ${speed}. Ctrl-C to stop.`);
  const signal = await untilSignal();
  note(`${signal}: stopping the sandbox…`);
  await sandbox.close();
  return 0;
}
