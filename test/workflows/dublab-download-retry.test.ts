import fs from 'node:fs';
import { startPipeline } from '../../src/client';
import { dublabOutput, sha256Hex } from '../../src/sandbox/derive';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

/** A gap before each output's download (its fresh outputs map), so a fault can be set between two of them. */
const OUTPUTS_LATENCY = { key: 'dublab GET /api/v1/dubs/:fileId/outputs', faults: { latencyMs: 1500 } };

describe('dublabDownloadOutputs retries keep what an attempt delivered', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ timings: { dublab: { queueMs: 100, processMs: 200 } } });
    await h.startWorker();
    dir = tempDir('dublab-retry-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the second output\'s download fails once; the retry fetches only that one and the result is exact', async () => {
    const source = makeFile(dir, 'talk.mp4', 200_000);
    const sourceBytes = fs.readFileSync(source);
    const first = dublabOutput('translated_mp4', sourceBytes, 'es');
    const second = dublabOutput('translated_mp3', sourceBytes, 'es');
    h.sandbox.setFaults({ rules: [OUTPUTS_LATENCY] });
    const started = await startPipeline(
      h.client,
      'dublab',
      { source, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 10, outputTypes: ['translated_mp4', 'translated_mp3'], polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const servedOf = (bytes: Buffer) => h.sandbox.served().filter((s) => s.sha256 === sha256Hex(bytes)).length;

    // Once the first output has been served, the next store GET (the second output) fails with a 503.
    const deadline = Date.now() + 60_000;
    while (servedOf(first) === 0) {
      if (Date.now() > deadline) throw new Error('the first output was never downloaded');
      await new Promise((r) => setTimeout(r, 20));
    }
    h.sandbox.setFaults({ rules: [OUTPUTS_LATENCY, { key: 'store GET', faults: { serverError: { rate: 1, first: 1, statuses: [503] } } }] });

    const result = await started.handle.result();
    const [dub] = result.dubs;
    expect(dub!.outputs.map((o) => o.type)).toEqual(['translated_mp4', 'translated_mp3']);
    for (const [out, bytes] of [[dub!.outputs[0]!, first], [dub!.outputs[1]!, second]] as const) {
      expect(fs.readFileSync(out.path).equals(bytes)).toBe(true);
      expect({ bytes: out.bytes, sha256: out.sha256 }).toEqual({ bytes: bytes.length, sha256: sha256Hex(bytes) });
      // No signed query in the result, nor in the heartbeat the retry read it from.
      expect(out.providerUrl).toMatch(/^[^?]*(\?…)?$/);
    }
    // The fault was hit (a second attempt ran), and that attempt did not fetch the first output again.
    expect(h.sandbox.counters()['store GET']).toBe(3);
    expect(servedOf(first)).toBe(1);
    expect(servedOf(second)).toBe(1);
  });
});
