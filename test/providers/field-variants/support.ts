/**
 * Variants generated from the field audit (src/providers/fields.ts): each one is served by a real HTTP
 * server on loopback and read by the real client, so what is checked is what a worker would do.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EndpointAudit, FieldAudit, VariantOutcome } from '../../../src/providers/fields';

/** One call per audited endpoint, against a client whose base URL is the variant server's. */
export type EndpointCalls = Record<string, (baseUrl: string) => Promise<unknown>>;

export interface Variant {
  name: string;
  body: unknown;
  outcome: VariantOutcome;
}

/** A distinct value no provider documents (for strings) and no enum uses (for numbers). */
export const UNKNOWN_TEXT = 'reelay-undocumented-value';
export const UNKNOWN_NUMBER = 987;

type Edit = { kind: 'delete' } | { kind: 'set'; value: (current: unknown) => unknown };

/**
 * Applies an edit at a dotted path: `a.b`, `a[].b` (every element of array `a`), `a.*.b` (every value of
 * map `a`). Returns how many places it touched; a path that reaches nothing is the audit's mistake.
 */
export function editAt(root: unknown, path: string, edit: Edit): number {
  const segments = path.split('.');
  let touched = 0;
  const walk = (node: unknown, i: number): void => {
    if (node === null || typeof node !== 'object') return;
    const raw = segments[i]!;
    const last = i === segments.length - 1;
    const each = raw.endsWith('[]');
    const key = each ? raw.slice(0, -2) : raw;
    const rec = node as Record<string, unknown>;
    const targets: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number }> = [];
    if (key === '*') {
      for (const k of Object.keys(rec)) targets.push({ holder: rec, key: k });
    } else if (each) {
      const arr = rec[key];
      if (!Array.isArray(arr)) return;
      arr.forEach((_, j) => targets.push({ holder: arr, key: j }));
    } else {
      targets.push({ holder: rec, key });
    }
    for (const t of targets) {
      const holder = t.holder as Record<string | number, unknown>;
      if (last) {
        if (edit.kind === 'delete') {
          if (t.key in holder) {
            if (Array.isArray(t.holder)) holder[t.key] = undefined;
            else delete holder[t.key];
            touched++;
          }
        } else {
          holder[t.key] = edit.value(holder[t.key]);
          touched++;
        }
      } else if (t.key in holder) {
        walk(holder[t.key], i + 1);
      }
    }
  };
  walk(root, 0);
  return touched;
}

/** The value at a path (the first one, through arrays and maps). */
export function valueAt(root: unknown, path: string): unknown {
  let found: unknown;
  let seen = false;
  editAt(structuredClone(root), path, {
    kind: 'set',
    value: (v) => {
      if (!seen) {
        found = v;
        seen = true;
      }
      return v;
    },
  });
  return found;
}

const clone = <T>(v: T): T => structuredClone(v);

function variant(base: unknown, field: FieldAudit, name: string, edit: Edit, outcome: VariantOutcome): Variant {
  const body = clone(base);
  if (editAt(body, field.path, edit) === 0) throw new Error(`the example has no ${field.path}: add it (or the parent it sits in)`);
  return { name: `${field.path} ${name}`, body, outcome };
}

/** The variants of one field, from its audit row. */
export function fieldVariants(endpoint: EndpointAudit, field: FieldAudit): Variant[] {
  const base = endpoint.example;
  const missing: VariantOutcome = field.required ? 'rejected' : 'accepted';
  const out: Variant[] = [
    variant(base, field, 'absent', { kind: 'delete' }, missing),
    variant(base, field, 'null', { kind: 'set', value: () => null }, missing),
  ];
  const current = valueAt(base, field.path);
  switch (field.kind) {
    case 'id':
      out.push(variant(base, field, 'as a string', { kind: 'set', value: (v) => String(v) }, 'accepted'));
      out.push(
        variant(base, field, 'as a number', { kind: 'set', value: (v) => (/^\d+$/.test(String(v)) ? Number(v) : 4242) }, 'accepted'),
      );
      break;
    case 'number':
      if (field.wrongType) out.push(variant(base, field, 'as a string', { kind: 'set', value: (v) => String(v) }, field.wrongType.outcome));
      break;
    case 'text':
      if (field.wrongType) out.push(variant(base, field, 'as a number', { kind: 'set', value: () => 12 }, field.wrongType.outcome));
      break;
    case 'boolean':
      if (field.wrongType) out.push(variant(base, field, 'as a string', { kind: 'set', value: (v) => String(v) }, field.wrongType.outcome));
      break;
    case 'enum': {
      if (!field.unknown) throw new Error(`${field.path}: an enum row must say what an unknown value does`);
      const unknownValue = typeof current === 'number' ? UNKNOWN_NUMBER : UNKNOWN_TEXT;
      out.push(variant(base, field, `unknown value ${JSON.stringify(unknownValue)}`, { kind: 'set', value: () => unknownValue }, field.unknown.outcome));
      break;
    }
    default:
      break;
  }
  return out;
}

/** A loopback server that answers every request with the body (and status) it was last given. */
export class VariantServer {
  #server: Server | undefined;
  #status = 200;
  #body = '{}';
  requests = 0;

  get url(): string {
    const addr = this.#server?.address() as AddressInfo | undefined;
    if (!addr) throw new Error('variant server not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.requests++;
        res.writeHead(this.#status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(this.#body)) });
        res.end(this.#body);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
  }

  answer(status: number, body: unknown): void {
    this.#status = status;
    this.#body = JSON.stringify(body);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server?.close(() => resolve());
      this.#server?.closeAllConnections();
    });
  }
}
