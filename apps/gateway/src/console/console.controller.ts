import { Controller, Get, Inject, type OnModuleInit, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_LOGGER, DomainError, type Logger } from '@maas/app-runtime';
import type { RouteSpecs } from '../docs/route-spec.js';
import { ConsoleFiles } from './console-files.js';

/**
 * The console's page and files. No inline script or style anywhere (the build emits files only;
 * uPlot and React set styles through the CSSOM, which style-src does not govern), no data: URLs
 * (assetsInlineLimit 0), no third-party origin, and API calls to this origin only.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const HTML_CONTENT = [{ contentType: 'text/html', schema: { type: 'string' } }];

export const consoleRouteSpecs: RouteSpecs = {
  'GET /console': {
    summary:
      'The web console (single-page app; sign in with an admin or member login or an API key)',
    responses: { 200: { description: 'HTML', content: HTML_CONTENT } },
  },
  'GET /console/*': {
    operationId: 'getConsoleFile',
    summary:
      "The console's hashed assets (cached for a year) and its client-side routes (index.html)",
    responses: { 200: { description: 'A static file, or the HTML page' } },
  },
};

/**
 * `/console`: the web console (apps/console), built into static files and served from memory.
 * index.html is revalidated on every load (`no-cache`, ETag) so a deploy shows at once; the
 * files it names carry their content hash and are cached for a year as immutable.
 */
@Controller('console')
export class ConsoleController implements OnModuleInit {
  constructor(
    private readonly files: ConsoleFiles,
    @Inject(APP_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.files.preload().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'console files not read');
    });
  }

  @Get()
  index(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.send('', request, reply);
  }

  @Get('*')
  file(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const path = request.url.split('?')[0].replace(/^\/console\/?/, '');
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw new DomainError('NOT_FOUND', 'no such console file');
    }
    return this.send(decoded, request, reply);
  }

  private async send(path: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const found = await this.files.lookup(path);
    if (found === undefined) {
      throw new DomainError(
        'NOT_FOUND',
        path === '' || !path.startsWith('assets/')
          ? 'the console is not built (node tools/build.mjs)'
          : 'no such console file',
      );
    }
    const { file } = found;
    void reply
      .headers(SECURITY_HEADERS)
      .header('content-type', file.contentType)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('etag', file.etag)
      .header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === file.etag) {
      await reply.code(304).send();
      return;
    }
    const accepts = request.headers['accept-encoding'];
    if (file.gzip && typeof accepts === 'string' && /\bgzip\b/.test(accepts)) {
      await reply.header('content-encoding', 'gzip').send(file.gzip);
      return;
    }
    await reply.send(file.body);
  }
}
