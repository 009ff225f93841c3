import { Injectable } from '@nestjs/common';

export interface CatalogRoute {
  method: string;
  url: string;
}

/** Every route the gateway registered (filled by an onRoute hook at boot, see main.ts). */
@Injectable()
export class RouteCatalog {
  readonly routes: CatalogRoute[] = [];

  add(method: string | string[], url: string): void {
    for (const m of Array.isArray(method) ? method : [method]) {
      if (m === 'HEAD' || m === 'OPTIONS') continue;
      if (!this.routes.some((r) => r.method === m && r.url === url))
        this.routes.push({ method: m, url });
    }
  }
}
