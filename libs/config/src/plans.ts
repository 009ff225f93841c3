/**
 * Plan defaults for tenant limits. A tenant's effective limit is its override (tenant_quotas
 * row, null = not overridden) else its plan's default. Documented in README.
 */
export interface TenantLimits {
  /** token bucket refill rate for inference requests (/infer, :predict) */
  requestsPerSecond: number;
  /** token bucket size */
  burst: number;
  monthlyRequests: number;
  monthlyTrainingMinutes: number;
  concurrentTrainingJobs: number;
  storageBytes: number;
  maxModels: number;
}

const GiB = 1024 ** 3;

export const PLANS: Record<string, TenantLimits> = {
  free: {
    requestsPerSecond: 5,
    burst: 10,
    monthlyRequests: 10_000,
    monthlyTrainingMinutes: 60,
    concurrentTrainingJobs: 1,
    storageBytes: 1 * GiB,
    maxModels: 5,
  },
  standard: {
    requestsPerSecond: 100,
    burst: 200,
    monthlyRequests: 1_000_000,
    monthlyTrainingMinutes: 1_000,
    concurrentTrainingJobs: 2,
    storageBytes: 50 * GiB,
    maxModels: 100,
  },
  enterprise: {
    requestsPerSecond: 2_000,
    burst: 4_000,
    monthlyRequests: 100_000_000,
    monthlyTrainingMinutes: 20_000,
    concurrentTrainingJobs: 10,
    storageBytes: 1_000 * GiB,
    maxModels: 2_000,
  },
};

export type TenantLimitOverrides = {
  [K in keyof TenantLimits]?: number | bigint | null;
};

/** The limits in force for a tenant: overrides where set, else the plan's (unknown plan: standard). */
export function effectiveLimits(
  plan: string,
  overrides?: TenantLimitOverrides | null,
): TenantLimits {
  const base = PLANS[plan] ?? PLANS.standard;
  const result = { ...base };
  for (const key of Object.keys(base) as (keyof TenantLimits)[]) {
    const value = overrides?.[key];
    if (value !== null && value !== undefined) result[key] = Number(value);
  }
  return result;
}
