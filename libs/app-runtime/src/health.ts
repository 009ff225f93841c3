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
    const results = await Promise.all(this.checks.map(runCheck));
    const body = {
      status: results.every((r) => r.ok) ? 'ok' : 'unavailable',
      checks: Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : r.error])),
    };
    if (body.status !== 'ok') throw new HttpException(body, 503);
    return body;
  }
}

@Module({})
export class HealthModule {
  /** `checks` are providers whose values are ReadinessCheck objects. */
  static forRoot(checks: {
    inject: InjectionToken[];
    factory: (...deps: never[]) => ReadinessCheck[];
  }): DynamicModule {
    const provider: Provider = {
      provide: READINESS_CHECKS,
      inject: checks.inject,
      useFactory: checks.factory as (...deps: unknown[]) => ReadinessCheck[],
    };
    return { module: HealthModule, controllers: [HealthController], providers: [provider] };
  }
}
