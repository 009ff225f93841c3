import { UsageCharts } from '../../components/UsageCharts';
import { Page } from '../../components/ui';
import { useTenantNames } from './tenant-names';

export function PlatformUsagePage() {
  const { nameOf } = useTenantNames();
  return (
    <Page title="Platform usage">
      <UsageCharts path="/api/admin/usage" groupBy="tenant" groupLabel="tenant" nameOf={nameOf} />
    </Page>
  );
}
