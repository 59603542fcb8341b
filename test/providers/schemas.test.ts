import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DublabClient } from '../../src/providers/dublab/client';
import { DublabDubList, DublabInitDubGroup, DublabProjectOutputs } from '../../src/providers/dublab/schemas';
import { ResponseValidationError } from '../../src/providers/errors';
import { LipdubClient } from '../../src/providers/lipdub/client';
import { LipdubGenerate, LipdubGeneration, LipdubVideoStatus } from '../../src/providers/lipdub/schemas';
import { providerFailure } from './support';

const dub = { id: 7, projectId: 3, name: 'a.mp4', targetLang: 'es', externalStatusId: 5, externalErrorMessage: null };

describe('documented variants parse to one shape', () => {
  it('LipDub generation ids: generate_id, generateId or id, string or number → string', () => {
    expect(LipdubGenerate.parse({ generate_id: 'g1', status: 'processing' })).toEqual({ generateId: 'g1', status: 'processing' });
    expect(LipdubGenerate.parse({ generateId: 42, status: 'processing' })).toEqual({ generateId: '42', status: 'processing' });
    expect(LipdubGenerate.parse({ id: 'g3', status: 'processing' })).toEqual({ generateId: 'g3', status: 'processing' });
    expect(LipdubGeneration.parse({ status: 'running', generate_id: 456 })).toEqual({ generateId: '456', status: 'running' });
    expect(LipdubGeneration.parse({ status: 'failed', error: 'face not found' })).toEqual({
      generateId: undefined,
      status: 'failed',
      failureReason: 'face not found',
    });
  });

  it('LipDub generation without any id is refused with a message naming the variants', () => {
    const r = LipdubGenerate.safeParse({ status: 'processing' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('generate_id, generateId or id');
  });

  it('LipDub video status before the upload: shot_id null or absent → null', () => {
    expect(LipdubVideoStatus.parse({ upload_status: 'uploading' })).toEqual({
      shot_id: null,
      upload_status: 'uploading',
      shot_status: 'not_started',
      ai_training_status: 'not_started',
    });
    expect(LipdubVideoStatus.parse({ shot_id: '746176', upload_status: 'completed', shot_status: 'running', ai_training_status: 'not_started' }))
      .toMatchObject({ shot_id: 746176 });
  });

  it('DubLab dub lists: { dubs }, { data } or a bare array; numeric ids → strings', () => {
    const expected = [expect.objectContaining({ id: '7', projectId: '3', externalStatusId: 5 })];
    expect(DublabDubList.parse({ dubs: [dub] })).toEqual(expected);
    expect(DublabDubList.parse({ data: [dub] })).toEqual(expected);
    expect(DublabDubList.parse([dub])).toEqual(expected);
  });

  it('DubLab group files: dest_lang, targetLang or lang → destLang', () => {
    const parsed = DublabInitDubGroup.parse({
      projectId: 9,
      uploadUrl: 'https://s3.example.com/u?sig=1',
      files: [
        { fileId: 1, dest_lang: 'tr' },
        { fileId: '2', targetLang: 'de' },
        { fileId: 3, lang: 'es' },
      ],
    });
    expect(parsed).toEqual({
      projectId: '9',
      uploadUrl: 'https://s3.example.com/u?sig=1',
      files: [
        { fileId: '1', destLang: 'tr' },
        { fileId: '2', destLang: 'de' },
        { fileId: '3', destLang: 'es' },
      ],
    });
  });

  it('DubLab project outputs: empty or missing outputs read as {}', () => {
    const p = DublabProjectOutputs.parse({
      projectId: 'p',
      files: [{ fileId: 'f', targetLang: 'es', externalStatusId: 3, externalErrorMessage: null, outputs: null }],
    });
    expect(p).toEqual({
      projectId: 'p',
      expiresIn: 3600,
      files: [{ fileId: 'f', targetLang: 'es', externalStatusId: 3, externalErrorMessage: null, outputs: {} }],
    });
  });
});

describe('surprises become ProviderResponseInvalid through the clients', () => {
  let server: http.Server;
  let base: string;
  let body: unknown = {};

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('DubLab externalStatusId outside 1..5', async () => {
    body = { dubs: [{ ...dub, externalStatusId: 6 }] };
    const err = await providerFailure(new DublabClient({ baseUrl: base, apiKey: 'k-123456' }).listDubs());
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err.message).toBe('DubLab GET /dubs: [0].externalStatusId: expected one of 1|2|3|4|5, got 6');
  });

  it('LipDub status outside the documented literals', async () => {
    body = { data: { status: 'queued', generate_id: 'g' } };
    const err = await providerFailure(new LipdubClient({ baseUrl: base, apiKey: 'k-123456' }).generateStatus(1, 'g'));
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err.message).toBe(
      'LipDub GET /shots/{shot_id}/generate/{generate_id}: data.status: expected one of not_started|pending|running|finished|failed, got "queued"',
    );
  });

  it('LipDub generation status without an id keeps the one asked for', async () => {
    body = { data: { status: 'pending' } };
    await expect(new LipdubClient({ baseUrl: base, apiKey: 'k-123456' }).generateStatus(1, 'g-9')).resolves.toEqual({
      generateId: 'g-9',
      status: 'pending',
    });
  });
});
