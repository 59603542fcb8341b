/**
 * The field audit: every field a client reads from a provider's answers, where the provider docs show
 * it (or that they do not), and what Reelay does when it is missing, null, of the other JSON type or an
 * unknown enum value. One table per provider (`src/providers/<id>/fields.ts`) is the single source of
 * docs/provider-fields.md (`npm run provider-fields`) and of the generated variant tests
 * (test/providers/field-variants.test.ts), so the document, the schemas and the tests cannot drift.
 *
 * The rule (DESIGN.md, principle 8): a field is `required` only when the docs show it on that endpoint
 * and the pipeline cannot go on without it. Everything else is optional with a written fallback.
 */
import type { ProviderId } from './errors';

/** What a field holds, which decides the variants generated for it. */
export type FieldKind =
  /** An id: both a string and a number form are accepted and carried as a string (or number, as documented). */
  | 'id'
  /** A number; `wrongType` says what a string (digits) does. */
  | 'number'
  /** Free text; `wrongType` says what a number does. */
  | 'text'
  /** A closed set of documented values; `unknown` says what an undocumented value does. */
  | 'enum'
  /** An http(s) URL. */
  | 'url'
  | 'boolean'
  /** An object or a map (its own fields have rows of their own). */
  | 'object'
  | 'array';

/** The outcome a variant must have when sent by a server. */
export type VariantOutcome =
  /** The client reads the answer (with the documented fallback) and the pipeline goes on. */
  | 'accepted'
  /** The client refuses it: ProviderResponseInvalid naming provider, endpoint and field; retried on reads, never on creates. */
  | 'rejected';

export interface FieldAudit {
  /**
   * Where the field sits in the answer body, dot-separated: `data.shot_id`, `dubs[].externalStatusId`
   * (every element of an array), `outputs.*.url` (every entry of a map).
   */
  path: string;
  kind: FieldKind;
  /**
   * The line of the provider doc (shared/providers/<id>.md) that shows this field on this endpoint,
   * quoted; `null` when the docs do not show it there (an assumption).
   */
  documented: string | null;
  /** Documented on this endpoint and needed to go on. A missing required field is `rejected`. */
  required: boolean;
  /** What the client and the pipeline do when the field is absent or null (for a required field: the error). */
  whenMissing: string;
  /** Kinds 'id', 'number', 'text', 'boolean': what the other JSON type does (`123` for `"123"`, or the reverse). */
  wrongType?: { outcome: VariantOutcome; does: string };
  /** Kind 'enum': the documented values, and what a value outside them does. */
  values?: readonly (string | number)[];
  unknown?: { outcome: VariantOutcome; does: string };
  /** Kind 'id': whether the docs show it as a string, a number, or both (the example picks the least convenient). */
  idForms?: 'string' | 'number' | 'both';
}

export interface EndpointAudit {
  /** The endpoint as the client names it in errors: `GET /video/status/{video_id}`. */
  endpoint: string;
  /** The doc section that describes it (`lipdub.md § Get Video Status`). */
  docs: string;
  /** HTTP status of a successful answer (200 when absent). */
  status?: number;
  /**
   * An answer made only of the fields the docs show on this endpoint, in their least convenient
   * documented form: the base every variant is generated from. It must be read as it is.
   */
  example: unknown;
  fields: FieldAudit[];
}

export interface ProviderAudit {
  provider: ProviderId;
  /** The provider doc file under shared/providers/. */
  doc: string;
  endpoints: EndpointAudit[];
}

/** Assumed fields (not shown by the docs on that endpoint) in an audit. */
export function assumedFields(audit: ProviderAudit): number {
  return audit.endpoints.reduce((n, e) => n + e.fields.filter((f) => f.documented === null).length, 0);
}

/** The HTTP method of an audited endpoint (`GET /x` → `GET`). */
export function endpointMethod(endpoint: string): string {
  return endpoint.split(' ', 1)[0]!.toUpperCase();
}
