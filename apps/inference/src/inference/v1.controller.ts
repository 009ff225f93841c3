import { Controller, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InferenceService } from './inference.service.js';
import { sendServed, TENANT_HEADER, tenantOf, versionOf } from './v2.controller.js';

/**
 * The worker's TF Serving predict surface. The gateway resolves `{m}[/versions|/labels]:predict`
 * to a version and forwards the body here untouched; decoding happens against the signature.
 */
@Controller('v1')
export class V1Controller {
  constructor(private readonly inference: InferenceService) {}

  @Post('models/:model/versions/:version/predict')
  @HttpCode(200)
  async predict(
    @Headers(TENANT_HEADER) tenant: string | undefined,
    @Param('model') model: string,
    @Param('version') version: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const response = await this.inference.predict(
      tenantOf(tenant),
      model,
      versionOf(version),
      body,
    );
    await sendServed(reply, response);
  }
}
