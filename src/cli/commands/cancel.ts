import { CliError, bool, type CommandSpec, type Parsed } from '../args';
import { print, printJson, withClient } from '../context';
import { describeOrFail } from './shared';

export const spec: CommandSpec = {
  name: 'cancel',
  summary: 'Request cancellation of a running pipeline.',
  usage: ['cancel <workflowId> [--wait] [--json]'],
  options: {
    wait: { type: 'boolean', description: 'Wait until it has stopped and print what was left at the provider' },
    json: { type: 'boolean', description: 'Print JSON' },
  },
  positionals: { min: 1, max: 1, names: 'the workflow id' },
  details: [
    'LipDub and DubLab have no cancel endpoint: a job already running there keeps running (and DubLab bills',
    'it on completion). With --wait the pipeline reports exactly which jobs it left behind.',
    'Exits 0 when the request was accepted (with --wait: when the pipeline ended cancelled).',
  ],
};

export async function run({ values, positionals }: Parsed): Promise<number> {
  const json = bool(values, 'json');
  return withClient(async (client) => {
    const { awaitOutcome, queryProgress } = await import('../pipelines');
    const handle = client.workflow.getHandle(positionals[0]!);
    const desc = await describeOrFail(client, handle);
    if (desc.status.name !== 'RUNNING') throw new CliError(`${handle.workflowId} is not running (it is ${desc.status.name}); nothing to cancel`);
    await handle.cancel();
    if (!bool(values, 'wait')) {
      if (json) printJson({ workflowId: handle.workflowId, cancelRequested: true });
      else print(`Cancellation requested for ${handle.workflowId}.`);
      return 0;
    }
    if (!json) print(`Cancellation requested for ${handle.workflowId}; waiting for it to stop…`);
    const outcome = await awaitOutcome(handle);
    const progress = await queryProgress(client, handle);
    const left = progress?.leftAtProvider;
    if (json) {
      printJson({
        workflowId: handle.workflowId,
        status: outcome.status,
        ...(left ? { leftAtProvider: left } : {}),
        ...(outcome.status !== 'CANCELLED' && outcome.failure ? { failure: outcome.failure } : {}),
      });
    } else if (outcome.status === 'CANCELLED') {
      print(`${handle.workflowId} CANCELLED.`);
      if (!progress) print('  What was left at the provider is unknown (no worker answered the progress query).');
      else if (left?.length) for (const item of left) print(`  Still at the provider: ${item}`);
      else print('  Nothing was left running at the provider.');
    } else {
      print(`${handle.workflowId} ended ${outcome.status} before the cancellation took effect${outcome.failure ? `: ${outcome.failure}` : ''}.`);
    }
    return outcome.status === 'CANCELLED' ? 0 : 1;
  });
}
