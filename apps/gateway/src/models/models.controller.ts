import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodPipe } from '@maas/app-runtime';
import {
  ModelsService,
  ModelVersionsService,
  modelView,
  parseVersionNumber,
  VersionArtifactsService,
  VersionLabelsService,
  VersionUploadsService,
  versionView,
} from '@maas/model-registry';
import { MAX_ROUND_DECIMALS, MAX_TOP_K } from '@maas/tensors';
import { MAX_LINK_BODY_BYTES } from '@maas/worker-link';
import { z } from 'zod';
import { TenantAuthGuard } from '../auth/guards.js';
import { ModelChangeInterceptor } from './model-change.interceptor.js';
import {
  actorOf,
  CurrentPrincipal,
  CurrentTenantId,
  type Principal,
  RequireScope,
} from '../auth/principal.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { json, NO_CONTENT, page, type RawContent, type RouteSpecs } from '../docs/route-spec.js';
import { DecisionTreeView, LabelView, ModelView, VersionView } from '../docs/view-schemas.js';
import { pageFields, PageQuery } from '../http/page-query.js';
import { uploadBody } from './upload-body.js';

const Metadata = z.record(z.string(), z.unknown());
const ModelCreateDto = z.object({
  name: z.string().min(1).max(63),
  description: z.string().max(2000).optional(),
  metadata: Metadata.optional(),
});
const ModelUpdateDto = z
  .object({ description: z.string().max(2000).optional(), metadata: Metadata.optional() })
  .strict();
const ServingConfigDto = z
  .object({
    maxBatchSize: z.number().int().min(1).max(65_536).optional(),
    maxQueueDelayMs: z.number().int().min(0).max(60_000).optional(),
    instanceConcurrency: z.number().int().min(1).max(64).optional(),
    replicas: z.number().int().min(1).max(16).optional(),
    /** Tensor elements one request may carry (the worker's MAX_ELEMENTS_PER_REQUEST else). */
    maxElementsPerRequest: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31)
      .optional(),
    /** Bytes one answer may take; lowers the worker's MAX_RESPONSE_BYTES, never raises it. */
    maxResponseBytes: z.number().int().min(1).max(MAX_LINK_BODY_BYTES).optional(),
    /** What answers may reveal; checked against the version's outputs by the registry. */
    outputPolicy: z
      .object({
        roundDecimals: z.number().int().min(0).max(MAX_ROUND_DECIMALS).optional(),
        topK: z.number().int().min(1).max(MAX_TOP_K).optional(),
        labelOnly: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
const VersionUpdateDto = z
  .object({ servingConfig: ServingConfigDto.nullable().optional() })
  .strict();
const LabelSetDto = z.union([
  z.object({ version: z.number().int().min(1) }).strict(),
  z.object({ versions: z.record(z.string(), z.number().int().min(1).max(1_000_000)) }).strict(),
]);
const UploadQuery = z.object({ format: z.enum(['onnx', 'tfjs']).default('onnx') });
const ArtifactQuery = z.object({ format: z.enum(['model', 'tfjs']).default('model') });
/** Versions page by number: the cursor is the last version number of the previous page. */
const VersionPageQuery = z.object(
  pageFields(z.coerce.number().int().min(0), { max: 1000, fallback: 100 }),
);

const UPLOAD_BODY: RawContent[] = [
  {
    contentType: 'application/octet-stream',
    schema: { type: 'string', contentMediaType: 'application/octet-stream' },
  },
  {
    contentType: 'multipart/form-data',
    schema: {
      type: 'object',
      properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' } },
      required: ['file'],
    },
  },
];
const ARTIFACT: RawContent[] = [
  {
    contentType: 'application/octet-stream',
    schema: { type: 'string', contentMediaType: 'application/octet-stream' },
  },
];

export const modelsRouteSpecs: RouteSpecs = {
  'POST /api/models': {
    summary: 'Create a model {name, description?}',
    body: ModelCreateDto,
    responses: { 201: json('The model', ModelView) },
    errors: [409],
  },
  'GET /api/models': {
    summary: 'List models',
    query: PageQuery,
    responses: { 200: json('A page of models', page(ModelView)) },
  },
  'GET /api/models/{name}': {
    summary: 'Get a model',
    responses: { 200: json('The model', ModelView) },
  },
  'PATCH /api/models/{name}': {
    summary: "Change a model's description or metadata",
    body: ModelUpdateDto,
    responses: { 200: json('The model', ModelView) },
  },
  'DELETE /api/models/{name}': {
    summary: 'Delete a model and its versions',
    responses: { 204: NO_CONTENT },
    errors: [409],
  },
  'POST /api/models/{name}/versions': {
    summary:
      'Upload a version: raw application/octet-stream body or multipart field `file`; ?format=onnx|tfjs',
    query: UploadQuery,
    body: UPLOAD_BODY,
    responses: { 201: json('The version (validating)', VersionView) },
    errors: [409, 413, 415, 422],
  },
  'GET /api/models/{name}/versions': {
    summary: 'List versions (state, size, sha256, signature)',
    query: VersionPageQuery,
    responses: { 200: json('A page of versions', page(VersionView)) },
  },
  'GET /api/models/{name}/versions/{version}': {
    summary: 'Get a version',
    responses: { 200: json('The version', VersionView) },
  },
  'GET /api/models/{name}/versions/{version}/tree': {
    summary:
      "A trained decision tree version's tree: JSON nodes (feature, split, criterion value, samples, distribution) and IF … THEN rules; 409 for other versions",
    responses: { 200: json('The tree', DecisionTreeView) },
    errors: [409],
  },
  'GET /api/models/{name}/versions/{version}/artifact': {
    summary:
      "A ready version's bytes, sha256-checked (ETag, Repr-Digest); ?format=model|tfjs (a trained network's TF.js copy)",
    query: ArtifactQuery,
    responses: {
      200: {
        description: 'The bytes',
        content: ARTIFACT,
        headers: {
          ETag: 'The sha256, quoted',
          'Repr-Digest': 'sha-256=:<base64>:',
          'Content-Disposition': 'attachment; filename="…"',
        },
      },
    },
    errors: [409],
  },
  'PATCH /api/models/{name}/versions/{version}': {
    summary:
      'Set or clear (null) the serving config: batching, replicas, limits, outputPolicy {roundDecimals | topK | labelOnly} (400 when the version cannot take it)',
    body: VersionUpdateDto,
    responses: { 200: json('The version', VersionView) },
    errors: [409],
  },
  'DELETE /api/models/{name}/versions/{version}': {
    summary: 'Archive a version and remove its bytes (409 while a label points at it)',
    responses: { 200: json('The archived version', VersionView) },
    errors: [409],
  },
  'PUT /api/models/{name}/labels/{label}': {
    summary: 'Point a label at a version {version} or split traffic {versions: {"3": 90, "4": 10}}',
    body: LabelSetDto,
    responses: { 200: json('The label', LabelView) },
    errors: [409],
  },
  'DELETE /api/models/{name}/labels/{label}': {
    summary: 'Remove a label',
    responses: { 204: NO_CONTENT },
  },
};

@Controller('api/models')
@UseGuards(TenantAuthGuard)
@UseInterceptors(ModelChangeInterceptor)
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly versions: ModelVersionsService,
    private readonly uploads: VersionUploadsService,
    private readonly labels: VersionLabelsService,
    private readonly artifacts: VersionArtifactsService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post()
  @RequireScope('models:write')
  async create(
    @CurrentTenantId() tenantId: string,
    @Body(new ZodPipe(ModelCreateDto)) body: z.infer<typeof ModelCreateDto>,
  ) {
    return modelView(await this.models.createModel(tenantId, body), []);
  }

  @Get()
  @RequireScope('models:read')
  async list(
    @CurrentTenantId() tenantId: string,
    @Query(new ZodPipe(PageQuery)) query: z.infer<typeof PageQuery>,
  ) {
    const page = await this.models.listModels(tenantId, query);
    return { items: page.items.map((m) => modelView(m)), nextCursor: page.nextCursor };
  }

  @Get(':name')
  @RequireScope('models:read')
  async get(@CurrentTenantId() tenantId: string, @Param('name') name: string) {
    const model = await this.models.getModel(tenantId, name);
    return modelView(model, await this.labels.listLabels(tenantId, model.id));
  }

  @Patch(':name')
  @RequireScope('models:write')
  async update(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Body(new ZodPipe(ModelUpdateDto)) body: z.infer<typeof ModelUpdateDto>,
  ) {
    const model = await this.models.updateModel(tenantId, name, body);
    return modelView(model, await this.labels.listLabels(tenantId, model.id));
  }

  @Delete(':name')
  @HttpCode(204)
  @RequireScope('models:write')
  async remove(@CurrentTenantId() tenantId: string, @Param('name') name: string) {
    await this.models.deleteModel(tenantId, name);
  }

  @Post(':name/versions')
  @RequireScope('models:write')
  async upload(
    @CurrentTenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Query(new ZodPipe(UploadQuery)) query: z.infer<typeof UploadQuery>,
    @Req() request: FastifyRequest,
  ) {
    return this.versionAnswer(tenantId, name, async () =>
      this.uploads.uploadVersion(tenantId, name, {
        format: query.format,
        body: await uploadBody(request),
        maxBytes: this.config.MAX_UPLOAD_BYTES,
        createdBy: actorOf(principal),
      }),
    );
  }

  @Get(':name/versions')
  @RequireScope('models:read')
  async listVersions(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Query(new ZodPipe(VersionPageQuery)) query: z.infer<typeof VersionPageQuery>,
  ) {
    const model = await this.models.getModel(tenantId, name);
    const page = await this.versions.listVersionsPage(tenantId, name, query);
    return {
      items: page.items.map((v) => versionView(model, v)),
      nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
    };
  }

  @Get(':name/versions/:version')
  @RequireScope('models:read')
  async getVersion(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ) {
    return this.versionAnswer(tenantId, name, () =>
      this.versions.getVersion(tenantId, name, parseVersionNumber(version)),
    );
  }

  /**
   * A trained decision tree version's tree: nodes as JSON (feature, split, criterion value,
   * samples, class distribution) and one readable rule per leaf. Other versions answer 409.
   */
  @Get(':name/versions/:version/tree')
  @RequireScope('models:read')
  async tree(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ): Promise<object> {
    return this.versions.getTree(tenantId, name, parseVersionNumber(version));
  }

  /**
   * A ready version's bytes (decrypted, sha256-checked before they leave): the served model
   * as uploaded or exported, or with `format=tfjs` a trained network's TF.js copy (a zip that
   * uploads again as `format=tfjs`). The sha256 travels as `Repr-Digest` and `ETag`.
   */
  @Get(':name/versions/:version/artifact')
  @RequireScope('models:read')
  async artifact(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('version') version: string,
    @Query(new ZodPipe(ArtifactQuery)) query: z.infer<typeof ArtifactQuery>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const download = await this.artifacts.download(
      tenantId,
      name,
      parseVersionNumber(version),
      query.format,
    );
    reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${download.fileName}"`)
      .header('etag', `"${download.sha256}"`)
      .header('repr-digest', `sha-256=:${Buffer.from(download.sha256, 'hex').toString('base64')}:`);
    return download.bytes;
  }

  @Patch(':name/versions/:version')
  @RequireScope('models:write')
  async updateVersion(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('version') version: string,
    @Body(new ZodPipe(VersionUpdateDto)) body: z.infer<typeof VersionUpdateDto>,
  ) {
    return this.versionAnswer(tenantId, name, () =>
      this.versions.updateVersion(tenantId, name, parseVersionNumber(version), body),
    );
  }

  /** Archives the version and removes its bytes (409 while a label points at it). */
  @Delete(':name/versions/:version')
  @RequireScope('models:write')
  async removeVersion(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ) {
    return this.versionAnswer(tenantId, name, () =>
      this.versions.deleteVersion(tenantId, name, parseVersionNumber(version)),
    );
  }

  @Put(':name/labels/:label')
  @RequireScope('models:write')
  async setLabel(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('label') label: string,
    @Body(new ZodPipe(LabelSetDto)) body: z.infer<typeof LabelSetDto>,
  ) {
    const targets = 'version' in body ? { [String(body.version)]: 100 } : body.versions;
    return this.labels.setLabel(tenantId, name, label, targets);
  }

  @Delete(':name/labels/:label')
  @HttpCode(204)
  @RequireScope('models:write')
  async removeLabel(
    @CurrentTenantId() tenantId: string,
    @Param('name') name: string,
    @Param('label') label: string,
  ) {
    await this.labels.deleteLabel(tenantId, name, label);
  }

  /**
   * A version's answer names its model: the model is looked up first (so a missing or foreign
   * model is a 404 before anything is done), then `act` runs on the version.
   */
  private async versionAnswer(
    tenantId: string,
    name: string,
    act: () => Promise<Parameters<typeof versionView>[1]>,
  ) {
    const model = await this.models.getModel(tenantId, name);
    return versionView(model, await act());
  }
}
