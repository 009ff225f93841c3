import {
  DynamicModule,
  Global,
  Module,
  type FactoryProvider,
  type ModuleMetadata,
} from '@nestjs/common';
import { DB_MODULE_OPTIONS, type DbModuleOptions } from './db.constants.js';
import { PrismaService } from './prisma.service.js';

export interface DbModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => DbModuleOptions | Promise<DbModuleOptions>;
  inject?: FactoryProvider['inject'];
}

/** Global: import once in the app module, inject PrismaService anywhere. */
@Global()
@Module({})
export class DbModule {
  static forRoot(options: DbModuleOptions): DynamicModule {
    return {
      module: DbModule,
      global: true,
      providers: [{ provide: DB_MODULE_OPTIONS, useValue: options }, PrismaService],
      exports: [PrismaService],
    };
  }

  /** For options that come from the app's validated config service. */
  static forRootAsync(options: DbModuleAsyncOptions): DynamicModule {
    return {
      module: DbModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: DB_MODULE_OPTIONS,
          useFactory: options.useFactory,
          inject: options.inject ?? [],
        },
        PrismaService,
      ],
      exports: [PrismaService],
    };
  }
}
