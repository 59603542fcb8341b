import { CliError, list, num, str, type CommandSpec, type Parsed } from '../args';
import { DEFAULT_CODEC_PORT as DEFAULT_PORT } from '../../codec/defaults';
import { cliConfig, note, print, untilSignal } from '../context';

export const spec: CommandSpec = {
  name: 'codec-server',
  summary: 'Serve the payload codec to the Temporal UI and CLI, so whoever holds the key sees decoded payloads.',
  usage: ['codec-server [--port 8089] [--host 127.0.0.1] [--origin http://localhost:8233]… [--namespace NS]…'],
  options: {
    port: { type: 'string', value: 'PORT', description: `Port to listen on (default ${DEFAULT_PORT})` },
    host: { type: 'string', value: 'HOST', description: 'Address to listen on (default 127.0.0.1: whoever reaches /decode reads every payload)' },
    origin: { type: 'string', multiple: true, value: 'URL', description: 'Browser origin of the Temporal UI allowed to call it (default: REELAY_TEMPORAL_UI_URL or http://localhost:8233)' },
    namespace: { type: 'string', multiple: true, value: 'NS', description: 'Only serve these namespaces (the X-Namespace header; default: any)' },
  },
  positionals: { min: 0, max: 0, names: '' },
  details: [
    'Keys come from the environment, as for the worker: REELAY_PAYLOAD_KEY (and REELAY_PAYLOAD_KEY_ID),',
    'REELAY_PAYLOAD_OLD_KEYS for retired keys. With REELAY_CODEC_TOKEN set, requests must carry',
    '`Authorization: Bearer <token>` (temporal workflow show --codec-auth "Bearer <token>").',
    'Protocol: POST …/encode and …/decode with {"payloads":[…]} (Payloads in proto3 JSON), CORS for --origin.',
    'Point the UI at it: `temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8089` (reelay dev does it',
    'when a key is set), or the UI\'s "Codec Server" setting; the CLI: `temporal workflow show --codec-endpoint …`.',
  ],
};

export async function run({ values }: Parsed): Promise<number> {
  const port = num(values, 'port', { integer: true, min: 0 }) ?? DEFAULT_PORT;
  const host = str(values, 'host') ?? '127.0.0.1';
  const config = await cliConfig();
  const { AesGcmPayloadCodec, PAYLOAD_KEY_ENV } = await import('../../codec');
  const { normalizeOrigin, startCodecServer } = await import('../../codec/server');
  const { isLoopbackHost } = await import('../../sandbox/http');
  let origins: string[];
  try {
    origins = (list(values, 'origin') ?? [config.temporal.uiUrl]).map(normalizeOrigin);
  } catch (err) {
    throw new CliError(`--origin: ${(err as Error).message}`, 2);
  }
  const codec = new AesGcmPayloadCodec(config.payloadKeys);
  if (!codec.encrypting) {
    throw new CliError(`${PAYLOAD_KEY_ENV} is not set: the codec server decrypts with the same keys as the workers (see docs/security.md)`);
  }
  const token = config.codecToken;
  if (!isLoopbackHost(host) && !token) note(`Warning: listening on ${host} without REELAY_CODEC_TOKEN: anyone who reaches it can decrypt every payload.`);
  let server;
  try {
    server = await startCodecServer({ codec, host, port, origins, namespaces: list(values, 'namespace'), token, log: note });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`port ${port} is in use; pick another with --port`);
    throw err;
  }
  print(`Codec server on ${server.url} (key id ${codec.keyId}; origins ${origins.join(', ')}${token ? '; bearer token required' : ''}).`);
  print(`Temporal UI: start the dev server with --ui-codec-endpoint ${server.url}, or set it in the UI's Codec Server settings.`);
  note('Ctrl-C to stop.');
  const signal = await untilSignal();
  note(`${signal}: stopping the codec server…`);
  await server.close();
  return 0;
}
