import { PrismaService } from '@maas/db';
import { createTestDatabase, type TestDatabase } from '@maas/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseDataErrorOf, DomainError, statusOf } from './errors.js';
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
