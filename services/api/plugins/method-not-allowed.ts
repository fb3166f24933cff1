import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods routes answer on a path (empty when no route has it): what a 405 lists in `Allow`. */
    allowedMethods(path: string): string[];
  }
}

/** A route pattern (`/v1/models/:org/:name`, `/docs/*`) as a regular expression over concrete paths. */
function patternRegex(url: string): RegExp {
  const body = url
    .split('/')
    .map((seg) => (seg === '*' ? '.*' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/**
 * Records every route as it is added, so that the not-found handler can tell "no such path" (404) from "this path,
 * another method" (405 with `Allow`). Registered before the routes.
 */
export async function registerMethodNotAllowed(app: FastifyInstance): Promise<void> {
  const routes: { re: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (r) => {
    routes.push({ re: patternRegex(r.url), methods: ([] as string[]).concat(r.method) });
  });
  app.decorate('allowedMethods', (path: string): string[] => {
    const out = new Set<string>();
    for (const r of routes) if (r.re.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  });
}
