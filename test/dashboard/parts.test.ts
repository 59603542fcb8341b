import type { IncomingMessage } from 'node:http';
import { authorized, bindProblem, isLoopbackHost } from '../../src/dashboard/auth';
import { toWebVtt } from '../../src/dashboard/files';
import { esc, html } from '../../src/dashboard/html';
import { outputKind } from '../../src/dashboard/views';

const request = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('dashboard parts', () => {
  it('needs auth for any bind but loopback', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]']) expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: true });
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'dashboard.example', '127.0.0.1.example']) expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: false });
    expect(bindProblem('127.0.0.1', {})).toBeUndefined();
    expect(bindProblem('0.0.0.0', {})).toMatch(/not a loopback address: set a bearer token/);
    expect(bindProblem('0.0.0.0', { token: 'x'.repeat(20) })).toBeUndefined();
  });

  it('accepts the token as a bearer or as the basic-auth password, and the basic user and password; nothing else', () => {
    const token = 't'.repeat(24);
    const auth = { token, basic: { user: 'producer', password: 'pass:word' } };
    expect(authorized(request(), {})).toBe(true);
    expect(authorized(request(), auth)).toBe(false);
    expect(authorized(request(`Bearer ${token}`), auth)).toBe(true);
    expect(authorized(request(`bearer ${token}`), auth)).toBe(true);
    expect(authorized(request(`Bearer ${token}x`), auth)).toBe(false);
    expect(authorized(request(basic('anyone', token)), auth)).toBe(true);
    expect(authorized(request(basic('producer', 'pass:word')), auth)).toBe(true);
    expect(authorized(request(basic('producer', 'wrong')), auth)).toBe(false);
    expect(authorized(request('Basic !!!'), auth)).toBe(false);
    expect(authorized(request(`Token ${token}`), auth)).toBe(false);
  });

  it('escapes every interpolation in its HTML', () => {
    expect(esc(`<script>alert("x")</script>&'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(html`<p title="${'"><img src=x onerror=alert(1)>'}">${['<b>', html`<i>ok</i>`]}</p>`.text).toBe(
      '<p title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&lt;b&gt;<i>ok</i></p>',
    );
  });

  it('turns SRT subtitles into WebVTT for the <track> element and knows players from files', () => {
    expect(toWebVtt('\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\nHola\r\n')).toBe('WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\nHola\n');
    expect(toWebVtt('WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n')).toBe('WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n');
    expect(outputKind({ path: '/out/run/es.mp4', label: 'es' })).toBe('video');
    expect(outputKind({ path: '/out/run/es/translated_mp3.mp3', label: 'es translated_mp3' })).toBe('audio');
    expect(outputKind({ path: '/out/run/es/translated_subtitle.srt', label: 'es translated_subtitle' })).toBe('subtitles');
    expect(outputKind({ path: 's3://bucket/run/poster.jpg', label: 'poster' })).toBe('file');
  });
});
