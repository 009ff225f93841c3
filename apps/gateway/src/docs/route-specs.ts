import { z } from 'zod';
import { adminAuditRouteSpecs } from '../audit/admin-audit.controller.js';
import { authRouteSpecs } from '../auth/auth.controller.js';
import { consoleRouteSpecs } from '../console/console.controller.js';
import { datasetsRouteSpecs } from '../datasets/datasets.controller.js';
import { INFERENCE_COMPONENTS, inferenceRouteSpecs } from '../inference/inference-schemas.js';
import { quarantineAdminRouteSpecs } from '../inference/quarantine-admin.controller.js';
import { workersAdminRouteSpecs } from '../inference/workers-admin.controller.js';
import { modelsRouteSpecs } from '../models/models.controller.js';
import { adminQuotasRouteSpecs } from '../quotas/admin-quotas.controller.js';
import { tenantAccountRouteSpecs } from '../quotas/tenant-account.controller.js';
import { adminUsersRouteSpecs } from '../tenants/admin-users.controller.js';
import { adminTenantsRouteSpecs } from '../tenants/admin-tenants.controller.js';
import { adminTrainingRouteSpecs } from '../training/admin-training.controller.js';
import { trainingJobsRouteSpecs } from '../training/training-jobs.controller.js';
import { versionOptimizationRouteSpecs } from '../training/version-optimization.controller.js';
import { usageRouteSpecs } from '../usage/usage.controller.js';
import { json, ProblemDetails, type RouteSpecs } from './route-spec.js';

const opsRouteSpecs: RouteSpecs = {
  'GET /healthz': {
    summary: 'Process is alive',
    responses: { 200: json('Alive', z.object({ status: z.literal('ok') })) },
  },
  'GET /readyz': {
    summary: 'Dependencies reachable',
    description: '503 lists the checks that failed, in the same shape.',
    responses: { 200: json('Each check and its state', z.record(z.string(), z.unknown())) },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    responses: {
      200: {
        description: 'Prometheus text exposition format',
        content: [{ contentType: 'text/plain', schema: { type: 'string' } }],
      },
    },
  },
  'GET /docs': {
    summary: 'This reference, interactive (Swagger UI)',
    responses: {
      200: {
        description: 'HTML',
        content: [{ contentType: 'text/html', schema: { type: 'string' } }],
      },
    },
  },
  'GET /docs/openapi.json': {
    summary: 'This document (OpenAPI 3.1)',
    responses: { 200: json('The OpenAPI document', z.record(z.string(), z.unknown())) },
  },
  'GET /docs/assets/{file}': {
    summary: "The reference page's scripts and styles (swagger-ui-dist)",
    responses: { 200: { description: 'A static file' } },
  },
};

/** Every route the gateway serves, by `'<METHOD> <OpenAPI path>'`. */
export const ROUTE_SPECS: RouteSpecs = {
  ...opsRouteSpecs,
  ...consoleRouteSpecs,
  ...authRouteSpecs,
  ...adminTenantsRouteSpecs,
  ...adminUsersRouteSpecs,
  ...adminQuotasRouteSpecs,
  ...tenantAccountRouteSpecs,
  ...adminAuditRouteSpecs,
  ...adminTrainingRouteSpecs,
  ...quarantineAdminRouteSpecs,
  ...workersAdminRouteSpecs,
  ...usageRouteSpecs,
  ...modelsRouteSpecs,
  ...datasetsRouteSpecs,
  ...trainingJobsRouteSpecs,
  ...versionOptimizationRouteSpecs,
  ...inferenceRouteSpecs,
};

/** Named schemas that specs reference by `$ref` rather than by zod object. */
export const NAMED_SCHEMAS: z.ZodType[] = [ProblemDetails, ...INFERENCE_COMPONENTS];
