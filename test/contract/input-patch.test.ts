import { LipdubPipelineInput } from '../../src/pipelines/lipdub/input';
import { DublabPipelineInput } from '../../src/pipelines/dublab/input';
import { applyInputPatch, inputPatch } from '../../src/contract/input-patch';

const SIGNED = 'https://cdn.example.com/talk.mp4?X-Amz-Signature=abc123secret&X-Amz-Expires=600';

describe('input patch: what parsing changed, and only that, goes back to the workflow', () => {
  it('a LipDub input with a signed URL: the patch holds the defaults, never the URL, and rebuilds the parsed input', () => {
    const raw = { video: SIGNED, audios: [{ source: ' /in/es.mp3 ', language: 'es-MX' }, { source: SIGNED, language: 'fr-FR', maintainExpression: false }] };
    const parsed = LipdubPipelineInput.parse(raw);
    const patch = inputPatch(raw, parsed);
    expect(JSON.stringify(patch)).not.toContain('X-Amz-Signature');
    // The trimmed path is a change, so it is in the patch.
    expect(JSON.stringify(patch)).toContain('/in/es.mp3');
    expect(applyInputPatch(raw, patch)).toEqual(parsed);
    // The raw input is left as it was.
    expect(raw.audios[0]!.source).toBe(' /in/es.mp3 ');
  });

  it('no change is no patch; a changed array length or type is set whole', () => {
    const raw = { source: SIGNED, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 5, outputTypes: ['translated_mp4'], checkCredits: false };
    const parsed = DublabPipelineInput.parse(raw);
    expect(inputPatch(raw, parsed)).toBeUndefined();
    expect(applyInputPatch(raw, undefined)).toBe(raw);
    expect(inputPatch([1, 2], [1, 2, 3])).toEqual({ set: [1, 2, 3] });
    expect(inputPatch('a', 1)).toEqual({ set: 1 });
    expect(applyInputPatch({ a: [1, { b: 2 }] }, inputPatch({ a: [1, { b: 2 }] }, { a: [1, { b: 3, c: 4 }] }))).toEqual({ a: [1, { b: 3, c: 4 }] });
  });
});
