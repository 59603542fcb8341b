import { bool, num, type CommandSpec, type Parsed } from '../args';
import { print, printJson, withClient } from '../context';
import { outcomeJson, printOutcome, describeOrFail } from './shared';

export const spec: CommandSpec = {
  name: 'watch',
  summary: 'Show live progress of a pipeline until it closes; exit 0 only if it completed.',
  usage: ['watch <workflowId> [--json]'],
  options: {
    json: { type: 'boolean', description: 'Progress on stderr, the outcome as JSON on stdout' },
    'log-lines': { type: 'string', value: 'N', description: 'Log lines shown under the bar (default 3)' },
    interval: { type: 'string', value: 'SECONDS', description: 'Seconds between progress queries (default 1)' },
  },
  positionals: { min: 1, max: 1, names: 'the workflow id' },
  details: ['On a terminal the bar is redrawn in place; otherwise each change is printed as a line.'],
};

export async function run({ values, positionals }: Parsed): Promise<number> {
  const logLines = num(values, 'log-lines', { integer: true, min: 0 }) ?? 3;
  const intervalMs = (num(values, 'interval', { min: 0.1 }) ?? 1) * 1000;
  const json = bool(values, 'json');
  return withClient(async (client) => {
    const { watchWorkflows } = await import('../pipelines');
    const handle = client.workflow.getHandle(positionals[0]!);
    const desc = await describeOrFail(client, handle);
    if (!json) print(`Watching ${handle.workflowId} (${desc.type}, ${desc.status.name})`);
    const t0 = desc.startTime.getTime();
    const [outcome] = await watchWorkflows(client, [{ handle }], { stream: json ? process.stderr : process.stdout, logLines, intervalMs });
    if (json) printJson({ workflowId: handle.workflowId, ...outcomeJson(outcome!) });
    else printOutcome(handle.workflowId, outcome!, (desc.closeTime?.getTime() ?? Date.now()) - t0);
    return outcome!.status === 'COMPLETED' ? 0 : 1;
  });
}
