import { Global, Module } from '@nestjs/common';
import { DocsController } from './docs.controller.js';
import { RouteCatalog } from './route-catalog.js';

@Global()
@Module({ controllers: [DocsController], providers: [RouteCatalog], exports: [RouteCatalog] })
export class DocsModule {}
