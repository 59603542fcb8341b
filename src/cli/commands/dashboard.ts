import { UsageError, num, str, type CommandSpec, type Parsed } from '../args';
import { cliConfig, connect, note, print, untilSignal } from '../context';

export const spec: CommandSpec = {
  name: 'dashboard',
  summary: 'Serve the monitor dashboard: runs, live progress, provider logs, outputs with a player, batches.',
  usage: ['dashboard [--host 127.0.0.1] [--port 8240] [--token T | --basic-auth USER:PASSWORD]'],
  options: {
    host: { type: 'string', value: 'HOST', description: 'Address to listen on (default 127.0.0.1; anything but loopback needs --token or --basic-auth)' },
    port: { type: 'string', value: 'PORT', description: 'Port (default 8240; 0 picks a free one)' },
    token: { type: 'string', value: 'T', description: 'Require this bearer token (or REELAY_DASHBOARD_TOKEN); a browser may give it as the basic-auth password' },
    'basic-auth': { type: 'string', value: 'USER:PASSWORD', description: 'Require basic auth (or REELAY_DASHBOARD_BASIC_AUTH)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  details: [
    'Reads everything from Temporal (visibility with the Reelay search attributes, describe, the progress and',
    'batchProgress queries) through the same client and data converter as the other commands, so payload',
    'encryption keeps working; the browser never talks to Temporal. Outputs play from REELAY_OUTPUT_DIR or the',
    'REELAY_OUTPUT_URL store, streamed by the dashboard. `reelay dev` serves it too, on loopback.',
  ],
};

export async function run({ values }: Parsed): Promise<number> {
  const { BASIC_ENV, TOKEN_ENV, bindProblem, parseBasic } = await import('../../dashboard/auth');
  const { DEFAULT_DASHBOARD_PORT, startDashboard } = await import('../../dashboard/server');
  const host = str(values, 'host') ?? '127.0.0.1';
  const port = num(values, 'port', { integer: true, min: 0 }) ?? DEFAULT_DASHBOARD_PORT;
  if (port > 65535) throw new UsageError('--port: at most 65535');
  const token = str(values, 'token') ?? (process.env[TOKEN_ENV]?.trim() || undefined);
  const basicRaw = str(values, 'basic-auth') ?? (process.env[BASIC_ENV]?.trim() || undefined);
  const basic = basicRaw === undefined ? undefined : parseBasic(basicRaw);
  if (basicRaw !== undefined && !basic) throw new UsageError(`--basic-auth (or ${BASIC_ENV}): expected USER:PASSWORD`);
  if (token !== undefined && token.length < 16) throw new UsageError(`--token (or ${TOKEN_ENV}): use at least 16 characters`);
  const auth = { token, basic };
  // Refused before connecting to anything: a public bind without auth never starts.
  const problem = bindProblem(host, auth);
  if (problem) throw new UsageError(problem);
  const config = await cliConfig();
  const client = await connect();
  const signal = untilSignal();
  let dashboard;
  try {
    dashboard = await startDashboard({ client, storage: config.storage, host, port, auth, taskQueue: config.taskQueue, log: note });
  } catch (err) {
    await client.connection.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--port ${port}: already in use on ${host}; pick another (--port 0 for any free one)`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`--host ${host}: not an address of this machine`);
    throw err;
  }
  const out = config.storage.output;
  print(`Dashboard on ${dashboard.url}  (${auth.token || auth.basic ? 'sign-in required' : 'loopback, no sign-in'}; outputs from ${out.kind === 'local' ? out.path : `s3://${out.bucket}/${out.key}`})`);
  print('Ctrl-C to stop.');
  await signal;
  await dashboard.close();
  await client.connection.close().catch(() => undefined);
  return 0;
}
