import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '@maas/app-runtime';
import { buildOpenApiDocument } from './openapi.document.js';
import { RouteCatalog } from './route-catalog.js';

export const API_VERSION = '0.1.0';

/**
 * What the reference page needs and nothing else: its own scripts (no inline script), Swagger
 * UI's inline styles and data: icons, and fetches to this origin ("Try it").
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SWAGGER_UI_DIR = dirname(
  createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
);

/** Served under /docs/assets/: Swagger UI's files from the npm package (no CDN), and its start. */
const ASSETS: Record<string, { contentType: string; source: string | (() => string) }> = {
  'swagger-ui.css': { contentType: 'text/css; charset=utf-8', source: 'swagger-ui.css' },
  'swagger-ui-bundle.js': {
    contentType: 'text/javascript; charset=utf-8',
    source: 'swagger-ui-bundle.js',
  },
  'docs.js': {
    contentType: 'text/javascript; charset=utf-8',
    source: () => `window.ui = SwaggerUIBundle({
  url: '/docs/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
});
`,
  },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>maas API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body>
</html>
`;

/** The API contract, generated from the routes actually registered and their zod schemas. */
@Controller('docs')
export class DocsController {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly catalog: RouteCatalog) {}

  @Get('openapi.json')
  openApi() {
    return buildOpenApiDocument(this.catalog.routes, API_VERSION);
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_CONTENT_SECURITY_POLICY)
  index(): string {
    return PAGE;
  }

  @Get('assets/:file')
  async asset(
    @Param('file') file: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (asset === undefined) throw new DomainError('NOT_FOUND', `no such file: ${file}`);
    let bytes = this.cache.get(file);
    if (bytes === undefined) {
      bytes =
        typeof asset.source === 'string'
          ? await readFile(join(SWAGGER_UI_DIR, asset.source))
          : Buffer.from(asset.source());
      this.cache.set(file, bytes);
    }
    void reply
      .header('content-type', asset.contentType)
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff');
    return bytes;
  }
}
