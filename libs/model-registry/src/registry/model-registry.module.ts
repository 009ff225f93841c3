import { Module, type DynamicModule } from '@nestjs/common';
import type { ObjectStore } from '../storage/object-store.js';
import { ModelRegistryService, OBJECT_STORE } from './model-registry.service.js';

@Module({})
export class ModelRegistryModule {
  static forRoot(store: ObjectStore): DynamicModule {
    return {
      module: ModelRegistryModule,
      global: true,
      providers: [{ provide: OBJECT_STORE, useValue: store }, ModelRegistryService],
      exports: [OBJECT_STORE, ModelRegistryService],
    };
  }
}
