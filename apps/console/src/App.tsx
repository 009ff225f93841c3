import { type ReactNode, useEffect } from 'react';
import { sessionStore } from './api/client';
import type { Session } from './api/session';
import { Loading } from './components/ui';
import { Link, match, navigate, useLocation } from './lib/router';
import { useSession } from './lib/use-session';
import { LoginPage } from './pages/LoginPage';
import { AuditPage } from './pages/admin/AuditPage';
import { PlatformUsagePage } from './pages/admin/PlatformUsagePage';
import { TenantDetailPage } from './pages/admin/TenantDetailPage';
import { TenantsPage } from './pages/admin/TenantsPage';
import { TrainingQueuePage } from './pages/admin/TrainingQueuePage';
import { WorkersPage } from './pages/admin/WorkersPage';
import { ApiKeysPage } from './pages/tenant/ApiKeysPage';
import { DatasetsPage } from './pages/tenant/DatasetsPage';
import { ModelDetailPage } from './pages/tenant/ModelDetailPage';
import { ModelsPage } from './pages/tenant/ModelsPage';
import { NewTrainingJobPage } from './pages/tenant/NewTrainingJobPage';
import { TrainingJobPage } from './pages/tenant/TrainingJobPage';
import { TrainingJobsPage } from './pages/tenant/TrainingJobsPage';
import { UsagePage } from './pages/tenant/UsagePage';

type Route = {
  pattern: string;
  who: 'admin' | 'tenant';
  render: (params: Record<string, string>) => ReactNode;
};

const ROUTES: Route[] = [
  { pattern: '/models', who: 'tenant', render: () => <ModelsPage /> },
  { pattern: '/models/:name', who: 'tenant', render: (p) => <ModelDetailPage name={p.name} /> },
  { pattern: '/datasets', who: 'tenant', render: () => <DatasetsPage /> },
  { pattern: '/training', who: 'tenant', render: () => <TrainingJobsPage /> },
  { pattern: '/training/new', who: 'tenant', render: () => <NewTrainingJobPage /> },
  { pattern: '/training/:id', who: 'tenant', render: (p) => <TrainingJobPage id={p.id} /> },
  { pattern: '/usage', who: 'tenant', render: () => <UsagePage /> },
  { pattern: '/api-keys', who: 'tenant', render: () => <ApiKeysPage /> },
  { pattern: '/admin/tenants', who: 'admin', render: () => <TenantsPage /> },
  {
    pattern: '/admin/tenants/:id',
    who: 'admin',
    render: (p) => <TenantDetailPage id={p.id} />,
  },
  { pattern: '/admin/usage', who: 'admin', render: () => <PlatformUsagePage /> },
  { pattern: '/admin/workers', who: 'admin', render: () => <WorkersPage /> },
  { pattern: '/admin/training', who: 'admin', render: () => <TrainingQueuePage /> },
  { pattern: '/admin/audit', who: 'admin', render: () => <AuditPage /> },
];

const NAV: Record<'admin' | 'tenant', { to: string; label: string }[]> = {
  tenant: [
    { to: '/models', label: 'Models' },
    { to: '/datasets', label: 'Datasets' },
    { to: '/training', label: 'Training' },
    { to: '/usage', label: 'Usage' },
    { to: '/api-keys', label: 'API keys' },
  ],
  admin: [
    { to: '/admin/tenants', label: 'Tenants' },
    { to: '/admin/usage', label: 'Usage' },
    { to: '/admin/workers', label: 'Workers' },
    { to: '/admin/training', label: 'Training queue' },
    { to: '/admin/audit', label: 'Audit log' },
  ],
};

const home = (session: Session) => (session.kind === 'admin' ? '/admin/tenants' : '/models');

export function App() {
  const { session, notice, restoring } = useSession();
  const { path } = useLocation();

  const who = session?.kind === 'admin' ? 'admin' : 'tenant';
  const found = ROUTES.map((route) => ({ route, params: match(route.pattern, path) })).find(
    (candidate) => candidate.params !== undefined,
  );
  const redirect =
    session !== null && (path === '/' || (found !== undefined && found.route.who !== who))
      ? home(session)
      : undefined;
  useEffect(() => {
    if (redirect !== undefined) navigate(redirect, { replace: true });
  }, [redirect]);

  if (restoring) {
    return (
      <div className="shell shell-centered">
        <Loading label="Restoring your session…" rows={2} />
      </div>
    );
  }
  if (session === null) return <LoginPage notice={notice} />;

  const content =
    found !== undefined && found.route.who === who && found.params ? (
      // A new page (not a new session) remounts its state: keyed by path.
      <div key={path}>{found.route.render(found.params)}</div>
    ) : redirect !== undefined ? (
      <Loading rows={2} />
    ) : (
      <section className="page">
        <h1>Page not found</h1>
        <p>
          Nothing lives at <code>{path}</code>. <Link to={home(session)}>Go to the start page</Link>
          .
        </p>
      </section>
    );

  return (
    <div className="shell" data-session={session.kind}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={home(session)} className="brand">
          maas <span className="brand-sub">console</span>
        </Link>
        <div className="whoami">
          <span className="whoami-label" data-testid="whoami">
            {session.kind === 'apiKey'
              ? `API key ${session.label}`
              : `${session.label} (${session.kind === 'admin' ? 'platform admin' : session.role})`}
          </span>
          <button type="button" className="button-small" onClick={() => sessionStore.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="nav" aria-label="Main">
        <ul>
          {NAV[who].map((item) => {
            const current = path === item.to || path.startsWith(`${item.to}/`);
            return (
              <li key={item.to}>
                <Link to={item.to} aria-current={current ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" className="main">
        {content}
      </main>
    </div>
  );
}
