import {
  Controller,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Module,
  type DynamicModule,
  type InjectionToken,
  type Provider,
} from '@nestjs/common';

/** A dependency whose reachability decides readiness (Postgres, Redis, storage, ...). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

const CHECK_TIMEOUT_MS = 2000;

async function runCheck(
  check: ReadinessCheck,
): Promise<{ name: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { name: check.name, ok: true };
  } catch (error) {
    return { name: check.name, ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** What /readyz answers: 200 when every check passes, else 503 naming those that failed. */
export async function readinessOf(
  checks: ReadinessCheck[],
): Promise<{ ok: boolean; body: { status: string; checks: Record<string, string | undefined> } }> {
  const results = await Promise.all(checks.map(runCheck));
  const ok = results.every((r) => r.ok);
  return {
    ok,
    body: {
      status: ok ? 'ok' : 'unavailable',
      checks: Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : r.error])),
    },
  };
}

@Controller()
export class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {}

  /** Liveness: the process answers. Never depends on other services. */
  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers; 503 lists those that do not. */
  @Get('readyz')
  async readyz() {
    const { ok, body } = await readinessOf(this.checks);
    if (!ok) throw new HttpException(body, 503);
    return body;
  }
}

@Module({})
export class HealthModule {
  /**
   * `checks` are providers whose values are ReadinessCheck objects (exported as
   * READINESS_CHECKS). `controller: false` leaves /healthz and /readyz off the app's HTTP port,
   * for an app that serves them on an ops port (ops-server.ts).
   */
  static forRoot(checks: {
    inject: InjectionToken[];
    factory: (...deps: never[]) => ReadinessCheck[];
    controller?: boolean;
  }): DynamicModule {
    const provider: Provider = {
      provide: READINESS_CHECKS,
      inject: checks.inject,
      useFactory: checks.factory as (...deps: unknown[]) => ReadinessCheck[],
    };
    return {
      module: HealthModule,
      controllers: checks.controller === false ? [] : [HealthController],
      providers: [provider],
      exports: [READINESS_CHECKS],
    };
  }
}
