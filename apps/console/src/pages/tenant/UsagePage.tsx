import { UsageCharts } from '../../components/UsageCharts';
import { Page } from '../../components/ui';

export function UsagePage() {
  return (
    <Page title="Usage">
      <p className="hint">
        Inference requests counted against your plan. Your limits (requests per second, monthly
        requests) are set by the platform’s admins.
      </p>
      <UsageCharts path="/api/usage" groupBy="model" groupLabel="model" />
    </Page>
  );
}
