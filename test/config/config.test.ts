import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type ReelayConfig } from '../../src/config';
import { AistudioClient, ProviderConfigError, Text2videoClient } from '../../src/providers';
import { BIN, runProcess, type CliRun } from '../support/cli';
import { PAYLOAD_KEY_VARIABLES, temporalAddress, tempDir } from '../support/harness';

/**
 * Configuration is read once, when a worker or the CLI starts (src/config.ts): every bad value is
 * reported together, each naming its variable and what it accepts, and stops start-up with exit 2
 * before anything connects. Temporal connection settings come from @temporalio/envconfig: profiles of
 * the TOML config file (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) under the variables the `temporal` CLI reads.
 */

/** An environment with nothing of the machine running the tests in it (no ~/.config/temporalio/temporal.toml). */
function clean(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { HOME: '/nonexistent', ...vars };
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('loadConfig accepted the environment');
}

let dir: string;
beforeAll(() => {
  dir = tempDir('config');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('without any variable: the local dev server, queue "reelay", ./output, the documented provider URLs and limits', () => {
    const c: ReelayConfig = loadConfig(clean());
    expect(c.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://localhost:8233' });
    expect(c.taskQueue).toBe('reelay');
    expect(c.outputDir).toBe(path.resolve('output'));
    expect(c.stateDir).toBe(path.resolve('.reelay'));
    expect(c.logLevel).toBeUndefined();
    expect(c.maxCachedWorkflows).toBeUndefined();
    expect(c.payloadKeys).toBeUndefined();
    expect(c.providers.lipdub).toMatchObject({ baseUrl: 'https://api.lipdub.ai/v1', apiKey: undefined, maxConcurrentJobs: 0 });
    expect(c.providers.aistudio.maxConcurrentJobs).toBe(3);
    // Vivid Flow's documented 2000 requests a day, the slower of its two limits, spread over the day.
    expect(c.providers.vividflow.requestsPerSecond).toBeCloseTo(2000 / 86_400);
    expect(c.providers.lipdub.requestsPerSecond).toBeUndefined();
  });

  it('reads every setting it is given', () => {
    const c = loadConfig(
      clean({
        REELAY_TASK_QUEUE: 'q1',
        REELAY_OUTPUT_DIR: '/tmp/out',
        REELAY_LOG_LEVEL: 'debug',
        REELAY_MAX_CACHED_WORKFLOWS: '500',
        REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: '0',
        REELAY_DUBLAB_MAX_CONCURRENT_JOBS: '4',
        REELAY_VIVIDFLOW_REQUESTS_PER_HOUR: '3600',
        REELAY_VIVIDFLOW_REQUESTS_PER_DAY: '0',
        LIPDUB_BASE_URL: ' http://127.0.0.1:9000/v1 ',
        LIPDUB_API_KEY: 'k-lip',
        REELAY_TEMPORAL_UI_URL: 'https://ui.example.com/',
        REELAY_CODEC_TOKEN: 'tok',
      }),
    );
    expect(c).toMatchObject({ taskQueue: 'q1', outputDir: '/tmp/out', logLevel: 'DEBUG', maxCachedWorkflows: 500, codecToken: 'tok' });
    expect(c.temporal.uiUrl).toBe('https://ui.example.com');
    expect(c.providers.aistudio.maxConcurrentJobs).toBe(0);
    expect(c.providers.dublab.maxConcurrentJobs).toBe(4);
    expect(c.providers.vividflow.requestsPerSecond).toBe(1);
    expect(loadConfig(clean({ REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '0' })).providers.vividflow.requestsPerSecond).toBeUndefined();
    expect(c.providers.lipdub).toMatchObject({ baseUrl: 'http://127.0.0.1:9000/v1', apiKey: 'k-lip' });
  });

  it('lists every bad value at once, each naming its variable and what it accepts', () => {
    const problems = problemsOf(
      clean({
        REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: 'three',
        REELAY_MAX_CACHED_WORKFLOWS: '1e3',
        REELAY_VIVIDFLOW_REQUESTS_PER_HOUR: '-5',
        REELAY_LOG_LEVEL: 'loud',
        LIPDUB_BASE_URL: 'ftp://files.example.com',
        TEXT2VIDEO_BASE_URL: 'not a url',
        REELAY_TEMPORAL_UI_URL: 'localhost:8233',
        REELAY_WORKFLOW_BUNDLE: path.join(dir, 'missing-bundle.js'),
        REELAY_PAYLOAD_KEY: 'c2hvcnQ=',
        TEMPORAL_ADDRESS: 'temporal.example.com',
        TEMPORAL_TLS: 'yes',
      }),
    );
    expect(problems).toEqual([
      'REELAY_TEMPORAL_UI_URL="localhost:8233": must be an http(s) URL (the Temporal UI, e.g. http://localhost:8233)',
      'TEMPORAL_TLS="yes": must be true or false (1 or 0)',
      'TEMPORAL_ADDRESS="temporal.example.com": must be host:port, e.g. 127.0.0.1:7233',
      expect.stringMatching(/^REELAY_PAYLOAD_KEY .*32/),
      'REELAY_LOG_LEVEL="loud": must be one of TRACE, DEBUG, INFO, WARN, ERROR',
      'REELAY_MAX_CACHED_WORKFLOWS="1e3": must be a whole number ≥ 0 (workflow runs kept in memory; 0 = no cache)',
      expect.stringMatching(/^REELAY_WORKFLOW_BUNDLE=".*missing-bundle\.js": must name an existing workflow bundle file/),
      'LIPDUB_BASE_URL="ftp://files.example.com": must be an http(s) URL (default https://api.lipdub.ai/v1)',
      'TEXT2VIDEO_BASE_URL="not a url": must be an http(s) URL (default http://localhost:5000/api/v1)',
      'REELAY_VIVIDFLOW_REQUESTS_PER_HOUR="-5": must be a number from 0 to 3600000 (requests per hour; 0 = no limit of that kind)',
      'REELAY_AISTUDIO_MAX_CONCURRENT_JOBS="three": must be a whole number from 0 to 10000 (jobs in flight across all workers; 0 = no cap)',
    ]);
    for (const bad of ['-1', '1.5', '0x10']) {
      expect(problemsOf(clean({ REELAY_LIPDUB_MAX_CONCURRENT_JOBS: bad }))).toEqual([expect.stringContaining(`REELAY_LIPDUB_MAX_CONCURRENT_JOBS="${bad}"`)]);
    }
    // Blank is unset.
    expect(loadConfig(clean({ REELAY_LIPDUB_MAX_CONCURRENT_JOBS: ' ' })).providers.lipdub.maxConcurrentJobs).toBe(0);
  });

  it('refuses caps, rates and the reclaim interval that are negative, fractional where whole, huge or not numbers, naming the variable', () => {
    const refused = (name: string, values: string[]) => {
      for (const bad of values) expect({ bad, problems: problemsOf(clean({ [name]: bad })) }).toEqual({ bad, problems: [expect.stringContaining(`${name}="${bad}": must be`)] });
    };
    refused('REELAY_AISTUDIO_MAX_CONCURRENT_JOBS', ['-1', '2.5', '10001', '1e9', '99999999999999999999', 'Infinity', 'NaN', 'three']);
    refused('REELAY_DUBLAB_MAX_CONCURRENT_JOBS', ['-3', '0.5', '1000000']);
    refused('REELAY_VIVIDFLOW_REQUESTS_PER_SECOND', ['-0.5', '1001', '1e3', 'Infinity', 'fast']);
    refused('REELAY_VIVIDFLOW_REQUESTS_PER_HOUR', ['-5', '3600001', 'NaN', '500/h']);
    refused('REELAY_VIVIDFLOW_REQUESTS_PER_DAY', ['-1', '86400001', 'two thousand']);
    refused('REELAY_LIMITER_RECLAIM_CHECK_SECONDS', ['0', '-1', '1.5', '3601', 'soon']);
    expect(problemsOf(clean({ REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: '10001' }))).toEqual([
      'REELAY_AISTUDIO_MAX_CONCURRENT_JOBS="10001": must be a whole number from 0 to 10000 (jobs in flight across all workers; 0 = no cap)',
    ]);
    expect(problemsOf(clean({ REELAY_LIMITER_RECLAIM_CHECK_SECONDS: '0' }))).toEqual([
      'REELAY_LIMITER_RECLAIM_CHECK_SECONDS="0": must be a whole number of seconds from 1 to 3600 (how often the limiter looks for slots held by closed runs)',
    ]);
    // The largest accepted values, and the defaults.
    const top = loadConfig(
      clean({
        REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: '10000',
        REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '1000',
        REELAY_LIMITER_RECLAIM_CHECK_SECONDS: '3600',
      }),
    );
    expect([top.providers.aistudio.maxConcurrentJobs, top.providers.vividflow.requestsPerSecond, top.limiterReclaimCheckMs]).toEqual([10_000, 1000, 3_600_000]);
    expect(loadConfig(clean()).limiterReclaimCheckMs).toBe(60_000);
    expect(loadConfig(clean({ REELAY_LIMITER_RECLAIM_CHECK_SECONDS: '5' })).limiterReclaimCheckMs).toBe(5_000);
  });

  it('reads the shutdown grace as a duration and Worker Versioning as a pair', () => {
    expect(loadConfig(clean()).shutdownGraceMs).toBe(180_000);
    expect(['90s', '3m', '500ms', '2', '1h'].map((v) => loadConfig(clean({ REELAY_SHUTDOWN_GRACE: v })).shutdownGraceMs)).toEqual([90_000, 180_000, 500, 2_000, 3_600_000]);
    expect(problemsOf(clean({ REELAY_SHUTDOWN_GRACE: 'three minutes' }))).toEqual([expect.stringMatching(/^REELAY_SHUTDOWN_GRACE="three minutes": must be a duration such as 90s/)]);
    expect(loadConfig(clean()).deployment).toBeUndefined();
    expect(loadConfig(clean({ REELAY_DEPLOYMENT_NAME: 'reelay', REELAY_BUILD_ID: '2026.12.01-a1b2' })).deployment).toEqual({ name: 'reelay', buildId: '2026.12.01-a1b2' });
    expect(problemsOf(clean({ REELAY_DEPLOYMENT_NAME: 'reelay' }))).toEqual([expect.stringMatching(/^REELAY_BUILD_ID: must be set too/)]);
    expect(problemsOf(clean({ REELAY_BUILD_ID: 'v2' }))).toEqual([expect.stringMatching(/^REELAY_DEPLOYMENT_NAME: must be set too/)]);
    expect(problemsOf(clean({ REELAY_DEPLOYMENT_NAME: 'my/app', REELAY_BUILD_ID: 'v2' }))).toEqual([expect.stringMatching(/^REELAY_DEPLOYMENT_NAME="my\/app": must be a Worker Deployment name/)]);
  });

  it('a missing API key is not a start-up error: the provider fails when used, naming the variable', () => {
    const c = loadConfig(clean());
    expect(c.providers.aistudio.apiKey).toBeUndefined();
    expect(() => AistudioClient.fromSettings(c.providers.aistudio)).toThrow(ProviderConfigError);
    expect(() => AistudioClient.fromSettings(c.providers.aistudio)).toThrow(/AISTUDIO_TOKEN is not set/);
    expect(() => Text2videoClient.fromSettings(c.providers.text2video)).not.toThrow();
  });

  it('never echoes a secret in a problem', () => {
    const problems = problemsOf(clean({ REELAY_PAYLOAD_KEY: 'dG9vLXNob3J0LXNlY3JldA==' }));
    expect(problems.join('\n')).not.toContain('dG9vLXNob3J0LXNlY3JldA==');
  });
});

describe('Temporal connection settings (@temporalio/envconfig)', () => {
  it('today\'s variables: address, namespace, API key (TLS on), mTLS files and server name', () => {
    const cert = write('client.pem', 'CERT');
    const key = write('client.key', 'KEY');
    const ca = write('ca.pem', 'CA');
    expect(loadConfig(clean({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_NAMESPACE: 'prod', TEMPORAL_API_KEY: 'secret' })).temporal).toMatchObject({
      address: 'temporal.example.com:7233',
      namespace: 'prod',
      apiKey: 'secret',
      tls: true,
    });
    const mtls = loadConfig(
      clean({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }),
    ).temporal.tls;
    expect(mtls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from('CA'),
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
    expect(loadConfig(clean({ TEMPORAL_TLS: 'true' })).temporal.tls).toBeTruthy();
    // Empty means unset, as before: no key, so no TLS.
    expect(loadConfig(clean({ TEMPORAL_API_KEY: '', TEMPORAL_ADDRESS: '' })).temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://localhost:8233' });
  });

  it('refuses half an mTLS pair and unreadable files, naming the variable', () => {
    const cert = write('only-cert.pem', 'CERT');
    expect(problemsOf(clean({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert }))).toEqual([expect.stringMatching(/^TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH .*must be set together/)]);
    expect(problemsOf(clean({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'nope.pem') }))).toEqual([
      expect.stringMatching(/^TEMPORAL_TLS_SERVER_CA_CERT_PATH=".*nope\.pem": must name a readable PEM file/),
    ]);
  });

  it('reads a profile of the config file, under the environment\'s variables', () => {
    const file = write(
      'temporal.toml',
      ['[profile.default]', 'address = "127.0.0.1:7233"', '', '[profile.staging]', 'address = "staging.example.com:7233"', 'namespace = "staging"', 'api_key = "from-file"', ''].join('\n'),
    );
    expect(loadConfig(clean({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' })).temporal).toEqual({
      address: 'staging.example.com:7233',
      namespace: 'staging',
      apiKey: 'from-file',
      tls: true,
      uiUrl: 'http://localhost:8233',
      profile: { name: 'staging', file },
    });
    expect(loadConfig(clean({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging', TEMPORAL_NAMESPACE: 'other' })).temporal.namespace).toBe('other');
    // The default profile, read from the default location ($XDG_CONFIG_HOME/temporalio/temporal.toml).
    fs.mkdirSync(path.join(dir, 'xdg', 'temporalio'), { recursive: true });
    fs.copyFileSync(file, path.join(dir, 'xdg', 'temporalio', 'temporal.toml'));
    expect(loadConfig(clean({ XDG_CONFIG_HOME: path.join(dir, 'xdg'), TEMPORAL_PROFILE: 'staging' })).temporal.address).toBe('staging.example.com:7233');
  });

  it('names the profile, the file or the key in the file that is wrong', () => {
    const file = write('bad-address.toml', '[profile.x]\naddress = "no-port"\n');
    expect(problemsOf(clean({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'y' }))).toEqual([`TEMPORAL_PROFILE="y": must name a profile of ${file}`]);
    expect(problemsOf(clean({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'x' }))).toEqual([
      `address in profile "x" of ${file} ("no-port"): must be host:port, e.g. 127.0.0.1:7233`,
    ]);
    expect(problemsOf(clean({ TEMPORAL_CONFIG_FILE: path.join(dir, 'none.toml') }))).toEqual([expect.stringMatching(/^TEMPORAL_CONFIG_FILE=".*none\.toml": must name an existing Temporal config file/)]);
    const broken = write('broken.toml', '[profile.x\naddress = 1\n');
    expect(problemsOf(clean({ TEMPORAL_CONFIG_FILE: broken }))).toEqual([expect.stringMatching(/^TEMPORAL_CONFIG_FILE .*broken\.toml: must be TOML with \[profile\.<name>\] tables/)]);
  });
});

describe('the CLI at start', () => {
  /** The real `reelay`, with only what the test gives it (and PATH, HOME for node and tsx). */
  function reelay(args: string[], env: Record<string, string>): Promise<CliRun> {
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TEMPORAL_') && !k.startsWith('REELAY_') && !PAYLOAD_KEY_VARIABLES.includes(k)) base[k] = v;
    return runProcess([process.execPath, BIN, ...args], { ...base, XDG_CONFIG_HOME: path.join(dir, 'no-config'), NO_COLOR: '1', ...env });
  }

  const BAD = {
    REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: 'three',
    VIVIDFLOW_BASE_URL: 'vivid.example.com/api',
    REELAY_MAX_CACHED_WORKFLOWS: 'lots',
    // Valid, and nothing listens there: a worker that tried to connect would say "cannot reach".
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  };

  it('bad values stop `reelay worker`, `reelay dev` and a command that connects with exit 2, each variable on its own line, before connecting', async () => {
    const outputDir = path.join(dir, 'worker-out');
    const runs = await Promise.all([
      reelay(['worker'], { ...BAD, REELAY_OUTPUT_DIR: outputDir }),
      reelay(['dev', '--port-base', '7390'], { ...BAD, REELAY_STATE_DIR: path.join(dir, 'dev-state') }),
      reelay(['list'], BAD),
    ]);
    runs.forEach((r, i) => {
      const command = ['worker', 'dev', 'list'][i]!;
      expect({ command, code: r.code }).toEqual({ command, code: 2 });
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toEqual([
        `reelay ${command}: invalid configuration (fix and start again):`,
        '  REELAY_MAX_CACHED_WORKFLOWS="lots": must be a whole number ≥ 0 (workflow runs kept in memory; 0 = no cache)',
        '  VIVIDFLOW_BASE_URL="vivid.example.com/api": must be an http(s) URL (default https://vivid.studioionique.com/api/v1)',
        '  REELAY_AISTUDIO_MAX_CONCURRENT_JOBS="three": must be a whole number from 0 to 10000 (jobs in flight across all workers; 0 = no cap)',
      ]);
      expect(r.stderr).not.toMatch(/cannot reach|\bat .*\.ts:\d+/);
    });
    // Nothing was started: no output directory, no dev server state.
    expect(fs.existsSync(outputDir)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'dev-state'))).toBe(false);
  });

  it('connects through a profile of a TOML config file (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE)', async () => {
    const file = write('cli.toml', `[profile.default]\naddress = "127.0.0.1:1"\n\n[profile.tests]\naddress = "${temporalAddress()}"\nnamespace = "default"\n`);
    const [viaProfile, missing] = await Promise.all([
      reelay(['list', '--json', '--limit', '1'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'tests' }),
      reelay(['list'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }),
    ]);
    expect({ code: viaProfile.code, stderr: viaProfile.stderr }).toEqual({ code: 0, stderr: '' });
    expect(Array.isArray(JSON.parse(viaProfile.stdout))).toBe(true);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({
      code: 2,
      stderr: `reelay list: invalid configuration (fix and start again):\n  TEMPORAL_PROFILE="prod": must name a profile of ${file}\n`,
    });
  });

  it('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE still work, and override the profile', async () => {
    const file = write('override.toml', '[profile.default]\naddress = "127.0.0.1:1"\nnamespace = "nowhere"\n');
    const [plain, overridden] = await Promise.all([
      reelay(['list', '--json', '--limit', '1'], { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'default' }),
      reelay(['list', '--json', '--limit', '1'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'default' }),
    ]);
    expect({ code: plain.code, stderr: plain.stderr }).toEqual({ code: 0, stderr: '' });
    expect({ code: overridden.code, stderr: overridden.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
