import { useGet } from '../../api/list';
import type { QuotaUsage } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { QUOTA_LIMITS, QuotaMeter } from '../../components/quotas';
import { UsageCharts } from '../../components/UsageCharts';
import { AsyncView, Facts, Page, Panel } from '../../components/ui';
import { formatLimit, formatShare } from '../../lib/format';

/** What counts against the limit `name` now (listed for the limits something counts against). */
function usedOf(quota: QuotaUsage, name: string): number {
  const used: Record<string, number> = quota.used;
  return used[name];
}

/** Each limit that something counts against, with what counts now and a meter. */
function QuotaUsagePanel() {
  const quotas = useGet<QuotaUsage>('/api/quotas', { pollMs: 15_000 });
  return (
    <Panel title="Usage against quota" testId="quota-usage">
      <AsyncView state={quotas} rows={7}>
        {(value) => (
          <>
            <Facts
              items={[
                ['Plan', value.plan],
                ['Month (UTC)', value.month],
                ['Requests per second', formatLimit(value.effective.requestsPerSecond)],
                ['Burst', formatLimit(value.effective.burst)],
              ]}
            />
            <DataTable
              label="Usage against quota"
              rows={QUOTA_LIMITS.filter((limit) => limit.name in value.used)}
              rowKey={(limit) => limit.name}
              rowTestId={(limit) => `quota-${limit.name}`}
              columns={[
                { header: 'Limit', rowHeader: true, cell: (limit) => limit.label },
                {
                  header: 'Used',
                  cell: (limit) => formatLimit(usedOf(value, limit.name), limit.bytes),
                },
                {
                  header: 'Of',
                  cell: (limit) =>
                    value.effective[limit.name] == null
                      ? 'unlimited'
                      : formatLimit(value.effective[limit.name], limit.bytes),
                },
                {
                  header: 'Share',
                  className: 'quota-share',
                  cell: (limit) => {
                    const max = value.effective[limit.name];
                    const used = usedOf(value, limit.name);
                    return max == null ? (
                      '—'
                    ) : (
                      <>
                        <QuotaMeter
                          used={used}
                          limit={max}
                          label={`${limit.label}: share used`}
                          className="quota-meter-inline"
                        />{' '}
                        {formatShare(used, max)}
                      </>
                    );
                  },
                },
              ]}
            />
          </>
        )}
      </AsyncView>
    </Panel>
  );
}

export function UsagePage() {
  return (
    <Page title="Usage">
      <p className="hint">
        Your limits are set by the platform’s admins: monthly ones count from the first of the month
        (UTC); requests over the per-second rate or the monthly total are refused with 429.
      </p>
      <QuotaUsagePanel />
      <UsageCharts path="/api/usage" groupBy="model" groupLabel="model" />
    </Page>
  );
}
