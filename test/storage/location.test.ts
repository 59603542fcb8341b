import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { childLocation, locationProblem, parseLocation, s3Uri } from '../../src/storage/location';

/** Locations are parsed once, the same way for configuration and inputs; every refusal says why. */
describe('storage locations', () => {
  it('reads a path without a scheme as local, s3:// as bucket and key, http(s) only where inputs allow it', () => {
    expect(parseLocation('out/dir')).toEqual({ kind: 'local', path: 'out/dir' });
    expect(parseLocation('/data/x.mp4')).toEqual({ kind: 'local', path: '/data/x.mp4' });
    expect(parseLocation('s3://media-out/reelay/runs/')).toEqual({ kind: 's3', bucket: 'media-out', key: 'reelay/runs' });
    expect(parseLocation('s3://media-out')).toEqual({ kind: 's3', bucket: 'media-out', key: '' });
    expect(parseLocation('https://cdn.example.com/a.mp4', { http: true })).toEqual({ kind: 'http', url: 'https://cdn.example.com/a.mp4' });
    expect(locationProblem('https://cdn.example.com/a.mp4')).toMatch(/unsupported scheme "https:\/\/".*local path or s3:\/\/bucket\/prefix/);
  });

  it.each([
    ['gs://bucket/x', /unsupported scheme "gs:\/\/"/],
    ['file:///tmp/x', /unsupported scheme "file:\/\/"/],
    ['s3://', /has no bucket/],
    ['s3:///key', /has no bucket/],
    ['s3://Upper_Case/x', /invalid bucket name "Upper_Case"/],
    ['s3://ab/x', /invalid bucket name "ab"/],
    ['s3://key:secret@bucket/x', /must not carry a user name, password or port/],
    ['s3://bucket/a//b', /empty, "\." or "\.\." path segments/],
    ['s3://bucket/a/../b', /empty, "\." or "\.\." path segments/],
    ['s3://bucket/a?versionId=1', /must not contain "\?" or "#"/],
    ['', /must not be empty/],
  ])('refuses %j', (raw, reason) => {
    expect(locationProblem(raw, { http: true })).toMatch(reason);
  });

  it('asks an input object for a key, not a bucket or a prefix', () => {
    expect(locationProblem('s3://bucket', { requireKey: true })).toMatch(/must name an object/);
    expect(locationProblem('s3://bucket/dir/', { requireKey: true })).toMatch(/must name an object/);
    expect(locationProblem('s3://bucket/dir/a.mp4', { requireKey: true })).toBeUndefined();
  });

  it('keeps child keys under their base', () => {
    const base = parseLocation('s3://out-bucket/runs') as Extract<ReturnType<typeof parseLocation>, { kind: 's3' }>;
    expect(s3Uri(childLocation(base, 'lipdub-x/es.mp4'))).toBe('s3://out-bucket/runs/lipdub-x/es.mp4');
    expect(() => childLocation(base, '../other/x')).toThrow(/would leave s3:\/\/out-bucket\/runs/);
  });
});

describe('storage configuration', () => {
  const clean = (vars: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: '/nonexistent', ...vars });
  const problems = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('loadConfig accepted the environment');
  };

  it('keeps the local output directory as before when no store is configured', () => {
    const config = loadConfig(clean({ REELAY_OUTPUT_DIR: 'some/out' }));
    expect(config.outputDir).toBe(path.resolve('some/out'));
    expect(config.storage.output).toEqual({ kind: 'local', path: path.resolve('some/out') });
    expect(loadConfig(clean()).storage.output).toEqual({ kind: 'local', path: path.resolve('output') });
  });

  it('takes s3:// in REELAY_OUTPUT_URL or REELAY_OUTPUT_DIR, with endpoint, region and path style', () => {
    const viaUrl = loadConfig(clean({ REELAY_OUTPUT_URL: 's3://media/reelay', REELAY_OUTPUT_DIR: '/local', REELAY_S3_ENDPOINT: 'http://127.0.0.1:7070/', REELAY_S3_REGION: 'eu-west-3' }));
    expect(viaUrl.storage).toEqual({
      output: { kind: 's3', bucket: 'media', key: 'reelay' },
      outputVar: 'REELAY_OUTPUT_URL',
      s3: { endpoint: 'http://127.0.0.1:7070', region: 'eu-west-3', forcePathStyle: true },
    });
    const viaDir = loadConfig(clean({ REELAY_OUTPUT_DIR: 's3://media', AWS_REGION: 'ap-south-1' }));
    expect(viaDir.storage).toMatchObject({ output: { kind: 's3', bucket: 'media', key: '' }, outputVar: 'REELAY_OUTPUT_DIR', s3: { endpoint: undefined, region: 'ap-south-1', forcePathStyle: false } });
    // The local scratch directory stays a real path, never "…/s3:/media".
    expect(viaDir.outputDir).toBe(path.resolve('output'));
    expect(loadConfig(clean({ REELAY_OUTPUT_URL: 's3://media', REELAY_S3_ENDPOINT: 'https://s3.example.com', REELAY_S3_FORCE_PATH_STYLE: 'false' })).storage.s3.forcePathStyle).toBe(false);
  });

  it('names every bad storage variable at once', () => {
    expect(
      problems(clean({ REELAY_OUTPUT_URL: 'gs://media/x', REELAY_S3_ENDPOINT: 'localhost:7070', REELAY_S3_REGION: 'eu west', REELAY_S3_FORCE_PATH_STYLE: 'maybe' })),
    ).toEqual([
      'REELAY_OUTPUT_URL="gs://media/x": has an unsupported scheme "gs://" (accepted: a local path or s3://bucket/prefix)',
      'REELAY_S3_ENDPOINT="localhost:7070": must be an http(s) URL of an S3-compatible service (e.g. http://127.0.0.1:7070)',
      'REELAY_S3_REGION="eu west": must be a region name like us-east-1 (letters, digits and "-")',
      'REELAY_S3_FORCE_PATH_STYLE="maybe": must be true or false',
    ]);
    expect(problems(clean({ REELAY_OUTPUT_DIR: 's3://Bad_Bucket/x' }))).toEqual([
      expect.stringMatching(/^REELAY_OUTPUT_DIR="s3:\/\/Bad_Bucket\/x": has an invalid bucket name/),
    ]);
    expect(problems(clean({ REELAY_OUTPUT_URL: 'https://example.com/out' }))).toEqual([expect.stringMatching(/^REELAY_OUTPUT_URL=.*unsupported scheme "https:\/\/"/)]);
    expect(problems(clean({ REELAY_S3_ENDPOINT: 'http://user:pw@host:1' }))).toEqual([expect.stringMatching(/^REELAY_S3_ENDPOINT: must not carry a user name or password/)]);
  });
});
