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
import { setIoDeadline } from './io-deadline.js';

/** A dependency whose reachability decides readiness (Postgres, Redis, storage, ...). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
  /**
   * false: the app still serves part of its traffic without it (the gateway serves cached
   * inference while PostgreSQL is down), so its failure makes readiness `degraded` (200, the
   * check named) instead of not ready (503). Default true.
   */
  required?: boolean;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

const CHECK_TIMEOUT_MS = 2000;

/** Thrown by a check that did not answer in time. */
class CheckTimedOut extends Error {}

/**
 * A failure whose message /readyz may show as it is (the app's own words: "worker link not
 * listening"); any other error a check throws shows as `down`.
 */
export class ReadinessFailure extends Error {}

async function runCheck(
  check: ReadinessCheck,
): Promise<{ name: string; ok: boolean; required: boolean; error?: string }> {
  const required = check.required ?? true;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setIoDeadline(() => reject(new CheckTimedOut()), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { name: check.name, ok: true, required };
  } catch (error) {
    // Only the kind of failure: /readyz answers on the gateway's public port, and a driver's
    // message names internal hosts and ports ("Can't reach database server at 10.0.3.7:5432").
    return {
      name: check.name,
      ok: false,
      required,
      error:
        error instanceof CheckTimedOut
          ? 'timed out'
          : error instanceof ReadinessFailure
            ? error.message
            : 'down',
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What /readyz answers: 200 `ok` when every check passes, 200 `degraded` when only checks that
 * are not required fail, else 503 `unavailable`; failing checks are named, `down` or `timed out`.
 */
export async function readinessOf(
  checks: ReadinessCheck[],
): Promise<{ ok: boolean; body: { status: string; checks: Record<string, string | undefined> } }> {
  const results = await Promise.all(checks.map(runCheck));
  const ok = results.every((r) => r.ok || !r.required);
  const degraded = ok && results.some((r) => !r.ok);
  return {
    ok,
    body: {
      status: degraded ? 'degraded' : ok ? 'ok' : 'unavailable',
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

  /** Readiness: every required dependency answers; 503 lists those that do not. */
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
