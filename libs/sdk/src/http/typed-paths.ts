import type { paths } from '../generated/openapi.js';

/**
 * Request and answer types of one route, read from the generated `paths`. This is what
 * openapi-fetch does for its `client.GET('/path', …)`; it is a few lines here so the SDK has no
 * runtime dependency at all (the packed tarball installs offline, into any project).
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type ApiPath = keyof paths;
export type Operation<P extends ApiPath, M extends HttpMethod> = NonNullable<paths[P][M]>;

type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never;
type QueryParams<O> = O extends { parameters: { query?: infer X } } ? Exclude<X, undefined> : never;
type JsonBody<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : never;

type SuccessStatus = 200 | 201 | 202 | 204;
/** The JSON a route answers on success (`undefined` for 204 No Content). */
export type SuccessJson<O> = O extends { responses: infer R }
  ? {
      [S in keyof R]: S extends SuccessStatus
        ? R[S] extends { content: { 'application/json': infer B } }
          ? B
          : undefined
        : never;
    }[keyof R]
  : never;

/** Per-call knobs every method takes. */
export interface CallOptions {
  /** Aborts the request (and any retry wait). */
  signal?: AbortSignal;
  /** Extra headers for this call (e.g. your own `x-request-id`). */
  headers?: Record<string, string>;
}

type PathPart<O> = [PathParams<O>] extends [never] ? { path?: undefined } : { path: PathParams<O> };
type QueryPart<O> = [QueryParams<O>] extends [never]
  ? { query?: undefined }
  : { query?: QueryParams<O> };
type BodyPart<O> = [JsonBody<O>] extends [never] ? { body?: undefined } : { body: JsonBody<O> };

/** What a call of route `O` takes: its path parameters, query and JSON body, typed. */
export type ApiRequest<O> = PathPart<O> & QueryPart<O> & BodyPart<O> & CallOptions;

/** `/api/models/{name}` with `{name: 'a b'}` → `/api/models/a%20b`, plus the query string. */
export function buildPath(
  template: string,
  path?: Record<string, string | number>,
  query?: Record<string, unknown>,
): string {
  const filled = template.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = path?.[name];
    if (value === undefined)
      throw new TypeError(`${template}: path parameter '${name}' is missing`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    search.set(key, value instanceof Date ? value.toISOString() : String(value));
  }
  const text = search.toString();
  return text ? `${filled}?${text}` : filled;
}
