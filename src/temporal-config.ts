import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadClientConfig, loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/client';

/**
 * Temporal connection settings, the way the `temporal` CLI and every Temporal SDK read them
 * (@temporalio/envconfig): a profile from the TOML config file (`TEMPORAL_CONFIG_FILE`, else
 * `~/.config/temporalio/temporal.toml`; `TEMPORAL_PROFILE`, else `default`), overridden by TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA,
 * TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME and
 * TEMPORAL_GRPC_META_*. Without any of them: the dev server on loopback, namespace `default`.
 */

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  /** TLS: on with the system CAs (`true`), off (`false`/undefined), or the certificates to use. */
  tls?: TLSConfig | boolean;
  /** gRPC headers (`grpc_meta` in the profile, TEMPORAL_GRPC_META_<NAME>). */
  metadata?: Record<string, string>;
  /** Base of the Temporal UI links Reelay prints (REELAY_TEMPORAL_UI_URL). */
  uiUrl: string;
  /** The profile read from the config file, when one was. */
  profile?: { name: string; file: string };
}

/** What Connection.connect and NativeConnection.connect take from the settings. */
export function connectionOptions(s: TemporalSettings): { address: string; apiKey?: string; tls?: TLSConfig | boolean; metadata?: Record<string, string> } {
  return { address: s.address, ...(s.apiKey ? { apiKey: s.apiKey } : {}), ...(s.tls !== undefined ? { tls: s.tls } : {}), ...(s.metadata ? { metadata: s.metadata } : {}) };
}

interface ProblemSink {
  add(line: string): void;
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;
const BOOLEAN_VALUES = ['true', 'false', '1', '0'];

/** The TLS file variables and the profile keys they override, to name the right one in a message. */
const TLS_SOURCES = [
  { field: 'clientCert', envVar: 'TEMPORAL_TLS_CLIENT_CERT_PATH', key: 'tls.client_cert_path' },
  { field: 'clientKey', envVar: 'TEMPORAL_TLS_CLIENT_KEY_PATH', key: 'tls.client_key_path' },
  { field: 'serverCACert', envVar: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', key: 'tls.server_ca_cert_path' },
] as const;

/**
 * Empty TEMPORAL_* variables count as unset, as they did before envconfig (which would, for instance, take
 * an empty TEMPORAL_API_KEY as a key and turn TLS on). TEMPORAL_GRPC_META_* keep theirs: empty removes a header.
 */
function envForEnvconfig(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('TEMPORAL_') && !k.startsWith('TEMPORAL_GRPC_META_') && v.trim() === '') continue;
    out[k] = k.startsWith('TEMPORAL_') && !k.startsWith('TEMPORAL_GRPC_META_') ? v.trim() : v;
  }
  return out;
}

/** The config file envconfig reads: TEMPORAL_CONFIG_FILE, else the default location when it exists. */
function configFile(env: Record<string, string>): string | undefined {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  // As envconfig (and the `temporal` CLI) locate it.
  const platform = os.platform();
  const dir =
    platform === 'win32'
      ? env.APPDATA
      : platform === 'darwin'
        ? env.HOME && path.join(env.HOME, 'Library', 'Application Support')
        : env.XDG_CONFIG_HOME
          ? path.isAbsolute(env.XDG_CONFIG_HOME)
            ? env.XDG_CONFIG_HOME
            : undefined
          : env.HOME && path.join(env.HOME, '.config');
  if (!dir) return undefined;
  const file = path.join(dir, 'temporalio', 'temporal.toml');
  return fs.existsSync(file) ? file : undefined;
}

/** Reads the settings; every problem goes to `problems`, naming the variable (or profile key) and what it accepts. */
export function loadTemporalSettings(rawEnv: NodeJS.ProcessEnv, problems: ProblemSink, opts: { uiUrl: string }): TemporalSettings {
  const env = envForEnvconfig(rawEnv);
  const file = configFile(env);
  const profileName = env.TEMPORAL_PROFILE || 'default';
  const where = (key: string) => `${key} in profile "${profileName}" of ${file}`;
  const fallback: TemporalSettings = { address: DEFAULT_TEMPORAL_ADDRESS, namespace: DEFAULT_TEMPORAL_NAMESPACE, uiUrl: opts.uiUrl };

  if (env.TEMPORAL_CONFIG_FILE && !fs.existsSync(env.TEMPORAL_CONFIG_FILE)) {
    problems.add(`TEMPORAL_CONFIG_FILE=${JSON.stringify(env.TEMPORAL_CONFIG_FILE)}: must name an existing Temporal config file (TOML with [profile.<name>] tables)`);
    return fallback;
  }
  if (file) {
    try {
      loadClientConfig({ configSource: { path: file } });
    } catch (err) {
      problems.add(`${env.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'Temporal config file'} ${file}: must be TOML with [profile.<name>] tables (${(err as Error).message.split('\n')[0]})`);
      return fallback;
    }
  }
  if (env.TEMPORAL_TLS !== undefined && !BOOLEAN_VALUES.includes(env.TEMPORAL_TLS.toLowerCase())) {
    problems.add(`TEMPORAL_TLS=${JSON.stringify(env.TEMPORAL_TLS)}: must be true or false (1 or 0)`);
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(file ? { configSource: { path: file } } : { disableFile: !env.TEMPORAL_PROFILE }),
      overrideEnvVars: { ...env, ...(env.TEMPORAL_TLS ? { TEMPORAL_TLS: env.TEMPORAL_TLS.toLowerCase() } : {}) },
    });
  } catch (err) {
    const message = (err as Error).message;
    if (/Profile '.*' not found/.test(message) || env.TEMPORAL_PROFILE) {
      problems.add(`TEMPORAL_PROFILE=${JSON.stringify(env.TEMPORAL_PROFILE)}: must name a profile of ${file ?? 'the Temporal config file (none found: set TEMPORAL_CONFIG_FILE)'}`);
    } else {
      problems.add(`Temporal settings: ${message}`);
    }
    return fallback;
  }

  const address = profile.address || DEFAULT_TEMPORAL_ADDRESS;
  if (!ADDRESS.test(address) || Number(ADDRESS.exec(address)![2]) > 65_535) {
    problems.add(`${env.TEMPORAL_ADDRESS ? `TEMPORAL_ADDRESS=${JSON.stringify(address)}` : `${where('address')} (${JSON.stringify(address)})`}: must be host:port, e.g. 127.0.0.1:7233`);
  }
  const namespace = profile.namespace || DEFAULT_TEMPORAL_NAMESPACE;

  // mTLS needs both halves; envconfig would silently drop a lone certificate or key.
  const tls = profile.tls;
  if (tls && Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    problems.add(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA, or tls.client_cert_* and tls.client_key_* in the profile): must be set together, for mTLS',
    );
  }
  let readable = true;
  for (const { field, envVar, key } of TLS_SOURCES) {
    const source = tls?.[field];
    if (source && 'path' in source && !isReadableFile(source.path)) {
      readable = false;
      problems.add(`${env[envVar] ? `${envVar}=${JSON.stringify(source.path)}` : `${where(key)} (${JSON.stringify(source.path)})`}: must name a readable PEM file`);
    }
  }
  if (!readable) return { ...fallback, address, namespace };

  const { connectionOptions: c } = toClientOptions(profile);
  return {
    address,
    namespace,
    ...(c.apiKey ? { apiKey: typeof c.apiKey === 'string' ? c.apiKey : undefined } : {}),
    ...(c.tls !== undefined && c.tls !== null ? { tls: c.tls } : {}),
    ...(c.metadata && Object.keys(c.metadata).length ? { metadata: c.metadata as Record<string, string> } : {}),
    uiUrl: opts.uiUrl,
    ...(file && (env.TEMPORAL_PROFILE || hasProfile(file, profileName)) ? { profile: { name: profileName, file } } : {}),
  };
}

function isReadableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function hasProfile(file: string, name: string): boolean {
  try {
    return name in loadClientConfig({ configSource: { path: file } }).profiles;
  } catch {
    return false;
  }
}
