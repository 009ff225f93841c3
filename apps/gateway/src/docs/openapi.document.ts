import { z } from 'zod';
import type { CatalogRoute } from './route-catalog.js';
import type { RawContent, ResponseSpec, RouteSpec, RouteSpecs } from './route-spec.js';
import { NAMED_SCHEMAS, ROUTE_SPECS } from './route-specs.js';

const PUBLIC = new Set([
  '/healthz',
  '/readyz',
  '/metrics',
  '/v2',
  '/v2/health/live',
  '/v2/health/ready',
  '/api/auth/login',
  '/api/auth/refresh',
  '/api/auth/logout',
]);

const ERROR_TITLES: Record<number, string> = {
  400: 'Invalid argument',
  401: 'Missing or invalid credentials',
  403: 'Credentials lack the scope, or the tenant is suspended',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'Content too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Rate limit or quota exceeded (Retry-After)',
  501: 'Not implemented',
  502: 'Bad answer from a worker',
  503: 'A dependency is unavailable; retry later (Retry-After)',
  504: 'Timed out',
};

/** Fastify's `:param` (and TF Serving's `:predict` suffix) to OpenAPI's `{param}`. */
export function openApiPath(url: string): string {
  return url.replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}');
}

function securityOf(path: string) {
  // The reference and the console are public pages; the console's API calls carry credentials.
  if (PUBLIC.has(path) || path.startsWith('/docs') || path.startsWith('/console')) return [];
  if (path.startsWith('/api/admin')) return [{ adminJwt: [] }];
  return [{ apiKey: [] }, { bearerApiKey: [] }];
}

/** zod → JSON Schema (2020-12, as OpenAPI 3.1 takes it); named schemas go to components. */
class SchemaWriter {
  readonly components: Record<string, unknown> = {};

  write(schema: z.ZodType): Record<string, unknown> {
    const id = z.globalRegistry.get(schema)?.id;
    if (id !== undefined) {
      if (!(id in this.components)) {
        // Placeholder first: a schema that names itself resolves to its own component.
        this.components[id] = {};
        const { id: _id, ...body } = this.convert(schema);
        // zod answers a root schema that has an id as a `$ref` to its own `$defs` entry, which
        // convert() has already filed under that id: keep it, not a component pointing at itself
        // (code generators such as openapi-typescript refuse a self-referencing pointer).
        if (body.$ref !== `#/components/schemas/${id}`) this.components[id] = body;
      }
      return { $ref: `#/components/schemas/${id}` };
    }
    return this.convert(schema);
  }

  private convert(schema: z.ZodType): Record<string, unknown> {
    // Requests are described as they arrive (`input`): defaults make fields optional.
    const raw = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    const { $schema: _schema, $defs, ...body } = raw;
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) {
      this.components[name] = this.relink(def);
    }
    return this.relink(body) as Record<string, unknown>;
  }

  private relink(value: unknown): unknown {
    return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'));
  }
}

function contentOf(writer: SchemaWriter, content: z.ZodType | RawContent[]) {
  if (Array.isArray(content)) {
    return Object.fromEntries(
      content.map((c) => [c.contentType, c.schema === undefined ? {} : { schema: c.schema }]),
    );
  }
  return { 'application/json': { schema: writer.write(content) } };
}

function responseOf(writer: SchemaWriter, response: ResponseSpec) {
  return {
    description: response.description,
    ...(response.headers && {
      headers: Object.fromEntries(
        Object.entries(response.headers).map(([name, description]) => [
          name,
          { description, schema: { type: 'string' } },
        ]),
      ),
    }),
    ...(response.content && { content: contentOf(writer, response.content) }),
  };
}

/** What a route can answer besides its own `errors`, by what it takes and who may call it. */
function errorStatusesOf(path: string, spec: RouteSpec, hasPathParams: boolean): number[] {
  if (['/healthz', '/metrics', '/v2/health/live'].includes(path) || path.startsWith('/docs')) {
    return [];
  }
  const secured = securityOf(path).length > 0;
  const statuses = new Set(spec.errors ?? []);
  if (hasPathParams || spec.query || spec.body || path.includes('*')) statuses.add(400);
  if (secured) statuses.add(401).add(403);
  if (hasPathParams || path.includes('*')) statuses.add(404);
  if (secured && !path.startsWith('/api/admin')) statuses.add(429);
  statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

function operationOf(writer: SchemaWriter, method: string, path: string, spec: RouteSpec) {
  const pathNames = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
  const paramShapes = (spec.params?.shape ?? {}) as Record<string, z.ZodType>;
  const queryShape = (spec.query?.shape ?? {}) as Record<string, z.ZodType>;
  const parameters = [
    ...pathNames.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: paramShapes[name] ? writer.write(paramShapes[name]) : { type: 'string' },
    })),
    ...Object.entries(queryShape).map(([name, schema]) => ({
      name,
      in: 'query',
      required: !schema.safeParse(undefined).success,
      schema: writer.write(schema),
    })),
    ...Object.entries(spec.headers ?? {}).map(([name, header]) => ({
      name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: { type: 'string' },
    })),
  ];
  const inferenceShape = path.startsWith('/v1/') || path.startsWith('/v2');
  const problem = inferenceShape
    ? { 'application/json': { schema: { $ref: '#/components/schemas/InferenceError' } } }
    : { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } };
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = responseOf(writer, response);
  }
  for (const status of errorStatusesOf(path, spec, pathNames.length > 0)) {
    responses[String(status)] ??= {
      description: ERROR_TITLES[status] ?? 'Error',
      content: problem,
    };
  }
  const tag =
    path.split('/')[1] === 'api' ? (path.split('/')[2] ?? 'api') : (path.split('/')[1] ?? 'ops');
  return {
    operationId:
      spec.operationId ??
      `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    tags: [['healthz', 'readyz', 'metrics', ''].includes(tag) ? 'ops' : tag],
    parameters,
    ...(spec.body && { requestBody: { required: true, content: contentOf(writer, spec.body) } }),
    security: securityOf(path),
    responses,
  };
}

/** Routes the gateway serves that have no entry in the route specs (must be none). */
export function undocumentedRoutes(routes: CatalogRoute[], specs: RouteSpecs = ROUTE_SPECS) {
  return routes.filter((r) => !(`${r.method} ${openApiPath(r.url)}` in specs));
}

/** The routes the specs describe, as the catalog would list them. */
export function routesOfSpecs(specs: RouteSpecs = ROUTE_SPECS): CatalogRoute[] {
  return Object.keys(specs).map((key) => {
    const [method, path] = key.split(' ');
    return { method, url: path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1') };
  });
}

export function buildOpenApiDocument(
  routes: CatalogRoute[],
  version: string,
  specs: RouteSpecs = ROUTE_SPECS,
) {
  const writer = new SchemaWriter();
  for (const schema of NAMED_SCHEMAS) writer.write(schema);
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort(
    (a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method),
  );
  for (const route of sorted) {
    const path = openApiPath(route.url);
    const spec: RouteSpec = specs[`${route.method} ${path}`] ?? {
      summary: `${route.method} ${path} (undocumented)`,
      responses: { 200: { description: 'Success' } },
    };
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operationOf(
      writer,
      route.method.toLowerCase(),
      path,
      spec,
    );
  }
  const schemas = Object.fromEntries(
    Object.entries(writer.components).sort(([a], [b]) => a.localeCompare(b)),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'maas gateway',
      version,
      description:
        'Multi-tenant Model-as-a-Service. Inference speaks the Open Inference Protocol (/v2) and the TensorFlow Serving REST API (/v1); the platform API is under /api.',
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        bearerApiKey: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token' },
        adminJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
      schemas,
    },
    paths,
  };
}
