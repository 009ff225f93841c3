import { Controller, Get, Header } from '@nestjs/common';
import { buildOpenApiDocument, openApiPath } from './openapi.document.js';
import { RouteCatalog } from './route-catalog.js';

const VERSION = '0.1.0';

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}

/** The API contract, generated from the routes actually registered (so it cannot drift). */
@Controller('docs')
export class DocsController {
  constructor(private readonly catalog: RouteCatalog) {}

  @Get('openapi.json')
  openApi() {
    return buildOpenApiDocument(this.catalog.routes, VERSION);
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  index(): string {
    const document = buildOpenApiDocument(this.catalog.routes, VERSION);
    const rows = Object.entries(document.paths)
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(
          ([method, op]) =>
            `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(openApiPath(path))}</code></td><td>${escapeHtml((op as { summary: string }).summary)}</td></tr>`,
        ),
      )
      .join('\n');
    return `<!doctype html><html><head><meta charset="utf-8"><title>maas API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}td{padding:.2rem .8rem;border-bottom:1px solid #ddd}</style></head>
<body><h1>maas gateway API</h1><p>Machine-readable: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1).</p>
<table>${rows}</table></body></html>`;
  }
}
