import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, sendJson, setCsrfToken } from './api';
import { AppNames, AppNamesContext } from './app-names';
import { OperationsPage } from './operations/operations-page';
import { ProfilePage } from './profile/profile-page';
import { Route, hrefOf, routeOf } from './router';
import { SegmentsPage } from './segments/segments-page';
import { SignInPage } from './sign-in/sign-in-page';
import { TestSendPage } from './test-send/test-send-page';

interface SessionInfo {
  workspace_id: string | null;
  csrf_token: string;
}

const PAGES: { page: Route['page']; label: string }[] = [
  { page: 'profile', label: 'User profile' },
  { page: 'segments', label: 'Segments' },
  { page: 'test-send', label: 'Test send' },
  { page: 'operations', label: 'Operations' },
];

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [apps, setApps] = useState<AppNames>(new Map());
  const route = useRoute();

  const signedIn = (info: SessionInfo | null) => {
    setCsrfToken(info?.csrf_token ?? null);
    setSession(info);
  };
  useEffect(() => {
    getJson<SessionInfo>('/session').then(signedIn, () => signedIn(null));
  }, []);
  useEffect(() => {
    if (!session) return;
    getJson<{ apps: { app_id: string; name: string | null }[] }>('/console/apps').then(
      ({ apps }) => setApps(new Map(apps.map((a) => [a.app_id, a.name ?? a.app_id]))),
      () => setApps(new Map()),
    );
  }, [session]);

  useEffect(() => {
    const label = session ? PAGES.find((p) => p.page === route.page)!.label : 'Sign in';
    document.title = `${label} · Push console`;
  }, [session, route.page]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) return <SignInPage onSignedIn={signedIn} />;

  const signOut = async () => {
    await sendJson('DELETE', '/session').catch((error: unknown) => {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    });
    signedIn(null);
  };

  return (
    <AppNamesContext.Provider value={apps}>
      <header class="top">
        <span class="brand">Push console</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.page}>
                <a
                  href={hrefOf(p.page, p.page === 'profile' || p.page === 'test-send' ? userParam(route) : {})}
                  aria-current={p.page === route.page ? 'page' : undefined}
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="workspace">Workspace: {session.workspace_id ?? 'of this API key'}</span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {route.page === 'profile' && <ProfilePage userId={route.params.get('user')} />}
        {route.page === 'segments' && <SegmentsPage />}
        {route.page === 'test-send' && <TestSendPage userId={route.params.get('user')} />}
        {route.page === 'operations' && <OperationsPage />}
      </main>
    </AppNamesContext.Provider>
  );
}

const userParam = (route: Route): Record<string, string> => {
  const user = route.params.get('user');
  return user ? { user } : {};
};

render(<App />, document.getElementById('app')!);
