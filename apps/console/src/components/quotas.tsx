/** A tenant's limits, as the admins' quota form and the tenant's usage page name them. */
export const QUOTA_LIMITS: { name: string; label: string; bytes?: boolean }[] = [
  { name: 'requestsPerSecond', label: 'Requests per second' },
  { name: 'burst', label: 'Burst' },
  { name: 'monthlyRequests', label: 'Monthly requests' },
  { name: 'monthlyTrainingMinutes', label: 'Training minutes per month' },
  { name: 'concurrentTrainingJobs', label: 'Concurrent training jobs' },
  { name: 'storageBytes', label: 'Storage', bytes: true },
  { name: 'maxModels', label: 'Models' },
];

/** How much of `limit` is used: a meter that turns amber from 80 % and red from 95 %. */
export function QuotaMeter({
  used,
  limit,
  label,
  className = 'quota-meter',
}: {
  used: number;
  limit: number;
  label: string;
  className?: string;
}) {
  return (
    <meter
      className={className}
      min={0}
      max={limit}
      low={limit * 0.8}
      high={limit * 0.95}
      optimum={0}
      value={Math.min(used, limit)}
      aria-label={label}
    />
  );
}
