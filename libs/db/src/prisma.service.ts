import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { DB_MODULE_OPTIONS, type DbModuleOptions } from './db.constants.js';
import { PrismaClient } from './generated/prisma/client.js';

/** The one Prisma client of an app; other code reaches Postgres through it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(DB_MODULE_OPTIONS) options: DbModuleOptions) {
    super({ adapter: new PrismaPg({ connectionString: options.databaseUrl }) });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }

  /** Readiness probe: resolves when Postgres answers a query, rejects otherwise. */
  async check(): Promise<void> {
    await this.$queryRaw`SELECT 1`;
  }
}
