import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  databaseDataErrorOf,
  DEPENDENCY_RETRY_AFTER_SECONDS,
  dependencyUnavailableOf,
  DomainError,
  statusOf,
} from './errors.js';
import { createRedis } from './redis.module.js';
import { errorAnswerOf } from './exception.filter.js';
import { createLogger } from './logger.js';

// Against the real PostgreSQL: what Prisma throws when a request's value reaches a query.
describe('database data exceptions', () => {
  let database: TestDatabase;
  let prisma: PrismaService;
  const logger = createLogger({ name: 'errors-spec', level: 'silent' });
  const thrown = (run: () => Promise<unknown>) =>
    run().then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = new PrismaService({ databaseUrl: database.url });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  it('answer 400 with PostgreSQL’s reason, never Prisma’s message', async () => {
    const cases = [
      () => prisma.tenant.create({ data: { name: 'nul\u0000' } }),
      () => prisma.model.findFirst({ where: { name: 'a\u0000b' } }),
      () => prisma.model.findFirst({ where: { id: 'not-a-uuid' } }),
      () => prisma.$queryRaw`SELECT ${'x\u0000'}::text`,
    ];
    for (const run of cases) {
      const error = await thrown(run);
      expect(statusOf(error)).toBe(400);
      const answer = errorAnswerOf(error, logger, {});
      expect(answer.status).toBe(400);
      expect(answer.detail).toMatch(/^the request carries a value the database refuses: /);
      expect(answer.detail).not.toMatch(/prisma|invocation|\.ts/i);
    }
    expect(databaseDataErrorOf(await thrown(cases[0]!))).toBe(
      'invalid byte sequence for encoding "UTF8": 0x00',
    );
  });

  it('leave other database failures and errors as they were', async () => {
    const tenant = await prisma.tenant.create({ data: { name: `t-${Date.now()}` } });
    const duplicate = await thrown(() => prisma.tenant.create({ data: { name: tenant.name } }));
    expect(databaseDataErrorOf(duplicate)).toBeUndefined();
    expect(statusOf(duplicate)).toBe(500);
    expect(statusOf(new DomainError('NOT_FOUND', 'gone'))).toBe(404);
    expect(statusOf(new Error('bug'))).toBe(500);
    expect(databaseDataErrorOf(null)).toBeUndefined();
  });
});

// Against real clients of servers that are not there: what an outage throws.
describe('dependency outages', () => {
  const logger = createLogger({ name: 'errors-spec', level: 'silent' });

  it('answer 503 with Retry-After when PostgreSQL cannot be reached, never 500', async () => {
    const down = new PrismaService({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/none' });
    const error = await down.tenant.findMany().then(
      () => undefined,
      (e: unknown) => e,
    );
    await down.$disconnect().catch(() => undefined);
    expect(dependencyUnavailableOf(error)).toBe('database');
    expect(statusOf(error)).toBe(503);
    const answer = errorAnswerOf(error, logger, {});
    expect(answer).toEqual({
      status: 503,
      detail: 'the database is unavailable; retry later',
      retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
    });
  });

  it('answer 503 when Redis cannot be reached', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'errors-spec');
    down.on('error', () => undefined);
    const error = await down.get('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    down.disconnect();
    expect(dependencyUnavailableOf(error)).toBe('redis');
    expect(errorAnswerOf(error, logger, {}).status).toBe(503);
  });

  it('leave other errors alone', () => {
    expect(dependencyUnavailableOf(new Error('boom'))).toBeUndefined();
    expect(dependencyUnavailableOf(new DomainError('NOT_FOUND', 'x'))).toBeUndefined();
  });
});
