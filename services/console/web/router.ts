/** The page and its parameters, from the URL's hash: `#/profile?user=kim`. */
export interface Route {
  page: 'profile' | 'segments' | 'test-send' | 'operations';
  params: URLSearchParams;
}

export function routeOf(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?');
  const page = (['profile', 'segments', 'test-send', 'operations'] as const).find((p) => p === path) ?? 'profile';
  return { page, params: new URLSearchParams(query) };
}

export const hrefOf = (page: Route['page'], params: Record<string, string> = {}): string => {
  const query = new URLSearchParams(params).toString();
  return `#/${page}${query ? `?${query}` : ''}`;
};
