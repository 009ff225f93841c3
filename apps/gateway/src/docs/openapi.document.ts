import type { CatalogRoute } from './route-catalog.js';

/** Short descriptions of the public contract (docs/api.md); routes not listed get a generic one. */
const SUMMARIES: Record<string, string> = {
  'POST /api/auth/login': 'Log in with email and password; returns {accessToken, refreshToken}',
  'POST /api/auth/refresh': 'Exchange a refresh token for new tokens',
  'POST /api/admin/tenants': 'Create a tenant {name}',
  'GET /api/admin/tenants': 'List tenants',
  'GET /api/admin/tenants/{id}': 'Get a tenant',
  'POST /api/admin/tenants/{id}/api-keys':
    'Create an API key {name, scopes?, expiresAt?}; the secret is in this answer only',
  'GET /api/admin/tenants/{id}/api-keys': "List a tenant's API keys (no secrets)",
  'DELETE /api/admin/tenants/{id}/api-keys/{keyId}': 'Revoke an API key',
  'POST /api/admin/tenants/{id}/models/{name}/versions/{version}/unquarantine':
    'Serve a quarantined version again (its worker-loss count starts from zero)',
  'POST /api/models': 'Create a model {name, description?}',
  'GET /api/models': 'List models',
  'GET /api/models/{name}': 'Get a model',
  'POST /api/models/{name}/versions':
    'Upload a version: raw application/octet-stream body or multipart field `file`; ?format=onnx|tfjs',
  'GET /api/models/{name}/versions': 'List versions (state, size, sha256, signature)',
  'GET /api/models/{name}/versions/{version}': 'Get a version',
  'PATCH /api/models/{name}/versions/{version}':
    'Set or clear (null) the serving config: batching, replicas, limits, outputPolicy {roundDecimals | topK | labelOnly} (400 when the version cannot take it)',
  'POST /api/training-jobs':
    'Start a training job {datasetId, target, features?, algorithm: mlp|decision_tree, task, hyperparameters (mlp: … targetLoss), modelName}',
  'GET /api/models/{name}/versions/{version}/artifact':
    "A ready version's bytes, sha256-checked (ETag, Repr-Digest); ?format=model|tfjs (a trained network's TF.js copy)",
  'GET /api/models/{name}/versions/{version}/tree':
    "A trained decision tree version's tree: JSON nodes (feature, split, criterion value, samples, distribution) and IF … THEN rules; 409 for other versions",
  'GET /v2': 'Open Inference Protocol server metadata',
  'GET /v2/health/live': 'Liveness (KServe v2)',
  'GET /v2/health/ready': 'Readiness (KServe v2)',
  'GET /v2/models/{model}': 'Model metadata (default version)',
  'GET /v2/models/{model}/versions/{version}': 'Model metadata of a version',
  'POST /v2/models/{model}/infer':
    'Inference (KServe v2 / Triton), default version; binary tensor extension supported',
  'POST /v2/models/{model}/versions/{version}/infer': 'Inference on a version',
  'GET /healthz': 'Process is alive',
  'GET /readyz': 'Dependencies reachable',
  'GET /metrics': 'Prometheus metrics',
};

const PUBLIC = new Set([
  '/healthz',
  '/readyz',
  '/metrics',
  '/v2',
  '/v2/health/live',
  '/v2/health/ready',
  '/api/auth/login',
  '/api/auth/refresh',
]);

/** Fastify's `:param` (and TF Serving's `:predict` suffix) to OpenAPI's `{param}`. */
export function openApiPath(url: string): string {
  return url.replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}');
}

function securityOf(path: string) {
  if (PUBLIC.has(path) || path.startsWith('/docs')) return [];
  if (path.startsWith('/api/admin')) return [{ adminJwt: [] }];
  return [{ apiKey: [] }, { bearerApiKey: [] }];
}

export function buildOpenApiDocument(routes: CatalogRoute[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...routes].sort((a, b) => a.url.localeCompare(b.url))) {
    const path = openApiPath(route.url);
    const method = route.method.toLowerCase();
    const parameters = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    paths[path] ??= {};
    paths[path][method] = {
      summary: SUMMARIES[`${route.method} ${path}`] ?? `${route.method} ${path}`,
      tags: [
        path.split('/')[1] === 'api'
          ? (path.split('/')[2] ?? 'api')
          : (path.split('/')[1] ?? 'ops'),
      ],
      parameters,
      security: securityOf(path),
      responses: {
        '2XX': { description: 'Success' },
        '4XX': {
          description: path.startsWith('/api')
            ? 'RFC 9457 problem details (application/problem+json)'
            : 'Error: {"error": "..."}',
        },
      },
    };
  }
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
    },
    paths,
  };
}
