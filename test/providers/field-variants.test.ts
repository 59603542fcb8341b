/**
 * Generated from the field audit (src/providers/<id>/fields.ts): for every endpoint, its docs-minimal
 * example is read as it is; for every field, the answer without it and with it null; ids in string and
 * number form; numbers, text and booleans in the other JSON type where the audit says what that does;
 * enums with a value the docs do not list. An accepted variant is read by the real client from a real
 * HTTP server; a rejected one is a ProviderResponseInvalid naming provider, endpoint and field, retried
 * on reads and never on writes.
 */
import { PROVIDER_AUDITS } from '../../src/providers/audits';
import { PROVIDER_DISPLAY_NAMES, ResponseValidationError } from '../../src/providers/errors';
import { endpointMethod } from '../../src/providers/fields';
import { calls as aistudio } from './field-variants/aistudio';
import { calls as dublab } from './field-variants/dublab';
import { calls as lipdub } from './field-variants/lipdub';
import { calls as text2video } from './field-variants/text2video';
import { calls as vividflow } from './field-variants/vividflow';
import { VariantServer, fieldVariants, type EndpointCalls } from './field-variants/support';

const CALLS: Record<string, EndpointCalls> = { lipdub, dublab, text2video, vividflow, aistudio };

const server = new VariantServer();
beforeAll(() => server.start());
afterAll(() => server.close());

/** The field's name as zod reports it in a path (`dubs[].externalStatusId` → `externalStatusId`). */
const leafName = (path: string): string => path.split('.').pop()!.replace(/\[\]$/, '');

describe.each(PROVIDER_AUDITS.map((a) => [a.provider, a] as const))('%s', (provider, audit) => {
  const calls = CALLS[provider]!;

  it('audits at least one endpoint, and every audited endpoint has a call', () => {
    expect(audit.endpoints.length).toBeGreaterThan(0);
    expect(audit.endpoints.map((e) => e.endpoint).filter((e) => !calls[e])).toEqual([]);
  });

  describe.each(audit.endpoints.map((e) => [e.endpoint, e] as const))('%s', (endpoint, e) => {
    const call = (): Promise<unknown> => calls[endpoint]!(server.url);

    it('reads the docs-minimal example as it is', async () => {
      server.answer(e.status ?? 200, e.example);
      await expect(call()).resolves.toBeDefined();
    });

    const variants = e.fields.flatMap((f) => fieldVariants(e, f).map((v) => ({ ...v, field: f })));
    it.each(variants.map((v) => [`${v.name} is ${v.outcome}`, v] as const))('%s', async (_name, v) => {
      server.answer(e.status ?? 200, v.body);
      if (v.outcome === 'accepted') {
        await expect(call()).resolves.toBeDefined();
        return;
      }
      const err = await call().then(
        () => new Error(`${v.name}: the client read an answer the audit says it must refuse`),
        (x: unknown) => x,
      );
      expect(err).toBeInstanceOf(ResponseValidationError);
      const rv = err as ResponseValidationError;
      expect(rv.type).toBe('ProviderResponseInvalid');
      expect(rv.message).toContain(PROVIDER_DISPLAY_NAMES[provider]);
      expect(rv.message).toContain(endpoint);
      expect(rv.message).toContain(leafName(v.field.path));
      expect(rv.retryable).toBe(endpointMethod(endpoint) === 'GET');
    });
  });
});
