import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { ConfigError, loadConfig } from '../../src/config';
import { request } from 'undici';
import { isPrivateAddress, pinnedAgent, resolveWebhookHost } from '../../src/webhooks/address';
import { parseWebhookSecret, webhookMessageId, webhookSignature } from '../../src/webhooks/signature';
import { deliveredOutputs, webhookRetryDelayMs } from '../../src/activities/webhook';
import { newWebhookSecret } from '../support/webhook-receiver';

describe('webhook signatures (Standard Webhooks)', () => {
  const { secret, key } = newWebhookSecret();
  const body = JSON.stringify({ type: 'pipeline.completed', data: { workflowId: 'text2video-x' } });
  const id = webhookMessageId('text2video-x', 'run-1', 'completed');
  const ts = Math.floor(Date.now() / 1000);

  it('verifies with the standardwebhooks package and with a plain HMAC over "id.timestamp.body"', () => {
    const signature = webhookSignature([parseWebhookSecret(secret)], id, ts, body);
    expect(new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature })).toEqual(JSON.parse(body));
    const independent = createHmac('sha256', Buffer.from(key, 'base64')).update(`${id}.${ts}.${body}`).digest('base64');
    expect(signature).toBe(`v1,${independent}`);
  });

  it('a receiver holding another secret rejects it, and so does one given a changed body', () => {
    const signature = webhookSignature([parseWebhookSecret(secret)], id, ts, body);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    expect(() => new Webhook(newWebhookSecret().secret).verify(body, headers)).toThrow(/No matching signature found/);
    expect(() => new Webhook(secret).verify(body.replace('x', 'y'), headers)).toThrow(/No matching signature found/);
  });

  it('signs with every key during a rotation, so receivers on the old or the new secret both verify', () => {
    const old = newWebhookSecret();
    const signature = webhookSignature([parseWebhookSecret(secret), parseWebhookSecret(old.secret)], id, ts, body);
    expect(signature.split(' ')).toHaveLength(2);
    for (const s of [secret, old.secret]) expect(new Webhook(s).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature })).toBeTruthy();
  });

  it('the webhook id is stable per run and event, and differs for another run or event', () => {
    expect(webhookMessageId('text2video-x', 'run-1', 'completed')).toBe(id);
    expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(webhookMessageId('text2video-x', 'run-2', 'completed')).not.toBe(id);
    expect(webhookMessageId('text2video-x', 'run-1', 'failed')).not.toBe(id);
  });

  it('the Python snippet in docs/webhooks.md verifies a Reelay signature, and refuses another secret, a changed body and a stale timestamp', () => {
    const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/webhooks.md'), 'utf8');
    const snippet = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(snippet).toContain('def verify(');
    const signature = webhookSignature([parseWebhookSecret(secret)], id, ts, body);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    const cases = [
      { secret, headers, body },
      { secret: newWebhookSecret().secret, headers, body },
      { secret, headers, body: body.replace('x', 'y') },
      { secret, headers: { ...headers, 'webhook-timestamp': String(ts - 3600), 'webhook-signature': webhookSignature([parseWebhookSecret(secret)], id, ts - 3600, body) }, body },
    ];
    const driver = `\nimport json, sys\nprint(json.dumps([verify(c["secret"], c["headers"], c["body"].encode()) for c in json.load(sys.stdin)]))\n`;
    const out = execFileSync('python3', ['-c', `${snippet}${driver}`], { input: JSON.stringify(cases), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([true, false, false, false]);
  });

  it('the key never shows in its string or JSON form', () => {
    const k = parseWebhookSecret(secret);
    expect(`${String(k)} ${JSON.stringify({ k })}`).not.toContain(key);
  });
});

describe('webhook configuration', () => {
  const base = { PATH: process.env.PATH };

  it('reads REELAY_WEBHOOK_SECRET, old secrets, the address policy (refuse by default) and the retry start', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    const c = loadConfig({ ...base, REELAY_WEBHOOK_SECRET: a.secret, REELAY_WEBHOOK_OLD_SECRETS: b.secret, REELAY_WEBHOOK_RETRY_INITIAL_SECONDS: '0.2' });
    expect(c.webhooks.keys).toHaveLength(2);
    expect(c.webhooks.allowPrivate).toBe(false);
    expect(c.webhooks.retryInitialMs).toBe(200);
    expect(loadConfig({ ...base, REELAY_WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks).toEqual({ keys: [], allowPrivate: true, retryInitialMs: 5000 });
  });

  it.each([
    ['no prefix', Buffer.alloc(32, 1).toString('base64'), /REELAY_WEBHOOK_SECRET: must start with "whsec_"/],
    ['not base64', 'whsec_not*base64!', /REELAY_WEBHOOK_SECRET: must be "whsec_" followed by standard base64/],
    ['too short a key', `whsec_${Buffer.alloc(8, 1).toString('base64')}`, /REELAY_WEBHOOK_SECRET: its key must be 24–64 bytes \(got 8\)/],
  ])('a bad secret (%s) stops start-up naming the variable, without echoing it', (_what, value, message) => {
    let err: unknown;
    try {
      loadConfig({ ...base, REELAY_WEBHOOK_SECRET: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain(value);
  });

  it('a bad REELAY_WEBHOOK_ALLOW_PRIVATE is named', () => {
    expect(() => loadConfig({ ...base, REELAY_WEBHOOK_ALLOW_PRIVATE: 'maybe' })).toThrow(/REELAY_WEBHOOK_ALLOW_PRIVATE="maybe": must be true or false/);
  });
});

describe('webhook address policy', () => {
  it.each([
    '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe', '2002:c0a8:0101::1',
  ])('%s is refused', (ip) => expect(isPrivateAddress(ip)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (ip) => expect(isPrivateAddress(ip)).toBe(false));

  it('refuses a host that resolves to loopback, naming the address; allows it when private destinations are allowed', async () => {
    await expect(resolveWebhookHost('localhost', { allowPrivate: false })).rejects.toThrow(/webhook host localhost resolves to (127\.0\.0\.1|::1), a private, loopback .*REELAY_WEBHOOK_ALLOW_PRIVATE/);
    await expect(resolveWebhookHost('[::1]', { allowPrivate: false })).rejects.toThrow(/resolves to ::1/);
    const ok = await resolveWebhookHost('127.0.0.1', { allowPrivate: true });
    expect(ok.addresses).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('connects only to the checked addresses, whatever the name resolves to at connect time (no DNS rebinding)', async () => {
    const server = http.createServer((_req, res) => res.end('pinned'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const agent = pinnedAgent(await resolveWebhookHost('127.0.0.1', { allowPrivate: true }), { connectMs: 2000, answerMs: 2000 });
    try {
      // A name that resolves nowhere (RFC 2606 .invalid): only the pinned lookup can connect it, to the checked address.
      const res = await request(`http://rebinding.invalid:${port}/`, { dispatcher: agent });
      expect(await res.body.text()).toBe('pinned');
      await expect(request(`http://rebinding.invalid:${port}/`)).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
    } finally {
      await agent.close();
      server.close();
    }
  });
});

describe('webhook retries and body', () => {
  it('waits double each time from the initial wait, at most an hour', () => {
    expect([1, 2, 3, 4].map((n) => webhookRetryDelayMs(5000, n))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(webhookRetryDelayMs(5000, 40)).toBe(3_600_000);
  });

  it('names every delivered file by its s3:// uri, else its path, and a batch results file', () => {
    const file = (p: string, uri?: string) => ({ path: uri ?? p, bytes: 1, sha256: 'a'.repeat(64), providerUrl: 'x', ...(uri ? { uri } : {}) });
    expect(deliveredOutputs({ jobId: 'j', output: file('/out/a.mp4') })).toEqual(['/out/a.mp4']);
    expect(deliveredOutputs({ languages: [{ video: file('', 's3://b/k/v.mp4'), audio: file('/out/es.mp3') }] })).toEqual(['s3://b/k/v.mp4', '/out/es.mp3']);
    expect(deliveredOutputs({ batchId: 'b', resultsPath: '/out/batch-b/results.jsonl', manifestPath: '/m.jsonl' })).toEqual(['/out/batch-b/results.jsonl']);
  });
});
