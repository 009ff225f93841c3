import { z } from 'zod';

/** A non-JSON body or answer: its media type and, where it has one, its JSON Schema. */
export interface RawContent {
  contentType: string;
  schema?: Record<string, unknown>;
}

export interface ResponseSpec {
  description: string;
  /** A zod schema is `application/json`; RawContent entries are listed as they are. */
  content?: z.ZodType | RawContent[];
  headers?: Record<string, string>;
}

/**
 * What the API reference says about one route. `params`, `query` and `body` are the very zod
 * schemas its ZodPipes validate with, so the documentation cannot drift from the checks.
 */
export interface RouteSpec {
  summary: string;
  /** Where the one made from the method and path would repeat another route's (`/x` and `/x/*`). */
  operationId?: string;
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** A zod schema is a JSON body; RawContent entries are alternatives (multipart, binary…). */
  body?: z.ZodType | RawContent[];
  headers?: Record<string, { description: string; required?: boolean }>;
  responses: Record<number, ResponseSpec>;
  /** Error statuses beyond the ones every route of its kind can answer (documentBuilder). */
  errors?: number[];
}

/** `'<METHOD> <OpenAPI path>'` → its spec, e.g. `'GET /api/models/{name}'`. */
export type RouteSpecs = Record<string, RouteSpec>;

export const ProblemDetails = z
  .object({
    type: z.string().describe('https://maas.dev/problems/<slug>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
  })
  .meta({ id: 'ProblemDetails', description: 'RFC 9457 problem details' });

/** Errors of the inference protocols (KServe v2 and TF Serving). */
export const InferenceError = z
  .object({ error: z.string() })
  .meta({ id: 'InferenceError', description: 'KServe v2 / TF Serving error' });

/** A cursor-paged list: `nextCursor` goes into `?cursor=` for the next page, null at the end. */
export function page<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const instant = z.iso.datetime({ offset: true });

export function json(description: string, schema: z.ZodType): ResponseSpec {
  return { description, content: schema };
}

export const NO_CONTENT: ResponseSpec = { description: 'Done; no body' };
