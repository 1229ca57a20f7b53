import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startApp, TestApp } from '../support/app';
import {
  exportedMetricTypes,
  grafanaDashboardQueries,
  metricNamesInPromQL,
  resolveSeries,
} from './support/promql';

const ROOT = resolve(__dirname, '../..');
const DOCKER = join(ROOT, 'docker');
const read = (path: string): string => readFileSync(path, 'utf8');

/** What the issue asks the dashboard to show: messages in/out, latency, sockets, waiters, errors, Valkey health. */
const REQUIRED_DASHBOARD_METRICS = [
  'relay_messages_received_total',
  'relay_messages_delivered_total',
  'relay_message_latency_seconds',
  'relay_websocket_connections_active',
  'relay_poll_waiters_active',
  'relay_errors_total',
  'relay_storage_up',
];

type Service = Record<string, any>;

/** Environment of a compose service as a map (compose allows a list of KEY=VALUE too). */
function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) {
    return Object.fromEntries(
      Object.entries(env as Record<string, string | number | null>).map(([k, v]) => [
        k,
        v === null ? '' : String(v),
      ]),
    );
  }
  return Object.fromEntries(
    (env as string[]).map((entry) => {
      const at = entry.indexOf('=');
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
}

/** Short-syntax bind mounts `host:container[:mode]` with host paths resolved from docker/. */
function bindMounts(service: Service): { host: string; container: string; readOnly: boolean }[] {
  return (service.volumes ?? [])
    .filter((v: unknown) => typeof v === 'string' && /^\.{1,2}\//.test(v))
    .map((v: string) => {
      const [host, container, mode] = v.split(':');
      return { host: resolve(DOCKER, host), container, readOnly: mode === 'ro' };
    });
}

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)?$/.exec(String(duration));
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

function healthcheckCommand(service: Service): string {
  const test = service.healthcheck?.test;
  if (!test) throw new Error('no healthcheck');
  return Array.isArray(test) ? test.join(' ') : String(test);
}

describe('docker/ compose stack', () => {
  const composeText = read(join(DOCKER, 'docker-compose.yml'));
  const compose = parseYaml(composeText, { merge: true }) as {
    services: Record<string, Service>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const relayNames = Object.keys(services).filter((name) => {
    const build = services[name].build;
    return build && String(build.dockerfile ?? '').endsWith('docker/Dockerfile');
  });

  it('runs two relays built from docker/Dockerfile, a proxy, Valkey, Prometheus and Grafana', () => {
    expect(relayNames.length).toBeGreaterThanOrEqual(2);
    for (const name of ['valkey', 'prometheus', 'grafana']) expect(services).toHaveProperty([name]);
    for (const name of relayNames) {
      const build = services[name].build;
      expect(existsSync(join(resolve(DOCKER, build.context), build.dockerfile))).toBe(true);
    }
  });

  it('configures every relay for production on the shared Valkey, with secrets from docker/.env', () => {
    for (const name of relayNames) {
      const service = services[name];
      const env = environment(service);
      expect(env.NODE_ENV).toBe('production');
      expect(env.PULSAR_STORAGE_BACKEND).toBe('valkey');
      expect(services).toHaveProperty([env.PULSAR_VALKEY_HOST]);
      expect(services[env.PULSAR_VALKEY_HOST].image).toMatch(/valkey/);
      for (const secret of [
        'PULSAR_JWT_SECRET_KEY',
        'PULSAR_BOOTSTRAP_ADMIN_PASSWORD',
        'PULSAR_VALKEY_PASSWORD',
      ]) {
        // A required interpolation: compose refuses to start without it, nothing is hard-coded.
        expect(env[secret]).toMatch(new RegExp(`^\\$\\{${secret}:\\?.+\\}$`));
      }
      expect(service.depends_on?.[env.PULSAR_VALKEY_HOST]?.condition).toBe('service_healthy');
      // Drains before docker's SIGKILL.
      expect(seconds(service.stop_grace_period)).toBeGreaterThan(
        Number(env.PULSAR_SHUTDOWN_GRACE ?? 10),
      );
      expect(healthcheckCommand(service)).toMatch(/node .*http.*127\.0\.0\.1.*\/(health|ready)/);
      expect(service.read_only).toBe(true);
      expect(service.cap_drop).toContain('ALL');
    }
  });

  it('documents every variable the compose file reads in docker/.env.example', () => {
    const example = read(join(DOCKER, '.env.example'));
    const documented = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const used = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    // No real secret values shipped in the example.
    for (const secret of [
      'PULSAR_JWT_SECRET_KEY',
      'PULSAR_BOOTSTRAP_ADMIN_PASSWORD',
      'PULSAR_VALKEY_PASSWORD',
      'GRAFANA_ADMIN_PASSWORD',
    ]) {
      expect(example).toMatch(new RegExp(`^${secret}=$`, 'm'));
    }
  });

  it('runs Valkey with config/valkey.conf, a password, a data volume and a healthcheck', () => {
    const valkey = services.valkey;
    const conf = bindMounts(valkey).find((m) => m.host === join(ROOT, 'config/valkey.conf'));
    expect(conf).toBeDefined();
    expect(conf!.readOnly).toBe(true);
    if (!existsSync(conf!.host))
      throw new Error('config/valkey.conf is missing: compose mounts it into Valkey');
    expect(read(conf!.host)).toMatch(/^appendonly\s+yes/m);
    const command = (valkey.command as string[]).join(' ');
    expect(command).toContain(conf!.container);
    expect(command).toMatch(/--requirepass \$\{PULSAR_VALKEY_PASSWORD:\?/);
    const data = (valkey.volumes as string[]).find((v) => v.endsWith(':/data'));
    expect(data).toBeDefined();
    expect(compose.volumes).toHaveProperty([data!.split(':')[0]]);
    expect(healthcheckCommand(valkey)).toMatch(/valkey-cli .*ping/);
    expect(valkey.ports).toBeUndefined(); // only the relays reach it
  });

  it('puts an nginx proxy with WebSocket upgrade in front of every relay', () => {
    const proxyName = Object.keys(services).find((n) =>
      /nginx|haproxy/.test(String(services[n].image)),
    );
    expect(proxyName).toBeDefined();
    const proxy = services[proxyName!];
    const conf = bindMounts(proxy).find((m) => m.container === '/etc/nginx/nginx.conf');
    expect(conf).toBeDefined();
    const nginx = read(conf!.host);
    for (const name of relayNames) expect(nginx).toMatch(new RegExp(`server\\s+${name}:8080\\b`));
    expect(nginx).toMatch(/proxy_http_version\s+1\.1;/);
    expect(nginx).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    expect(nginx).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade/);
    const readTimeout = /proxy_read_timeout\s+(\d+)s?;/.exec(nginx);
    expect(Number(readTimeout?.[1])).toBeGreaterThan(60); // long polls wait up to 60 s
    expect(nginx).not.toMatch(/^\s*(ip_hash|sticky|hash)\b/m); // no sticky sessions needed
    expect(proxy.ports.length).toBe(1);
    for (const name of relayNames) expect(services[name].ports).toBeUndefined(); // reached only through the proxy
    for (const name of relayNames) expect(proxy.depends_on[name].condition).toBe('service_healthy');
  });

  it('has Prometheus scrape /metrics of every relay directly', () => {
    const prometheus = services.prometheus;
    const conf = bindMounts(prometheus).find(
      (m) => m.container === '/etc/prometheus/prometheus.yml',
    );
    expect(conf).toBeDefined();
    const config = parseYaml(read(conf!.host));
    const job = (config.scrape_configs as any[]).find((j) =>
      (j.static_configs ?? []).some((s: any) =>
        s.targets.some((t: string) => relayNames.includes(t.split(':')[0])),
      ),
    );
    expect(job).toBeDefined();
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    const targets = job.static_configs.flatMap((s: any) => s.targets);
    expect(targets.sort()).toEqual(relayNames.map((n) => `${n}:8080`).sort());
    expect(healthcheckCommand(prometheus)).toMatch(/-\/ready/);
  });

  it('provisions Grafana with the Prometheus datasource and the dashboard', () => {
    const grafana = services.grafana;
    const mounts = bindMounts(grafana);
    const provisioning = mounts.find((m) => m.container === '/etc/grafana/provisioning');
    expect(provisioning).toBeDefined();
    const datasources = parseYaml(read(join(provisioning!.host, 'datasources/prometheus.yml')));
    const datasource = datasources.datasources[0];
    expect(datasource.type).toBe('prometheus');
    expect(datasource.url).toBe('http://prometheus:9090');
    const providers = parseYaml(read(join(provisioning!.host, 'dashboards/pulsar-relay.yml')));
    const providerPath = providers.providers[0].options.path as string;
    const dashboards = mounts.find(
      (m) => providerPath === m.container || providerPath.startsWith(`${m.container}/`),
    );
    expect(dashboards).toBeDefined();
    const dashboardFile = join(
      dashboards!.host,
      posix.relative(dashboards!.container, providerPath),
      'pulsar-relay.json',
    );
    expect(statSync(dashboardFile).isFile()).toBe(true);
    expect(environment(grafana).GF_SECURITY_ADMIN_PASSWORD).toMatch(
      /^\$\{GRAFANA_ADMIN_PASSWORD:\?/,
    );
  });

  it('builds an image the way CI builds (npm ci, npm run build, production deps only, non-root, tini, HEALTHCHECK)', () => {
    const dockerfile = read(join(DOCKER, 'Dockerfile'));
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(froms.every((f) => f === '${NODE_IMAGE}')).toBe(true);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/RUN .*npm ci(?! --omit)/s);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*'\/health'/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    // Every COPY from the build context exists and is allowed by .dockerignore (an allow-list).
    const ignore = read(join(ROOT, '.dockerignore'))
      .split('\n')
      .map((l) => l.trim());
    expect(ignore[ignore.findIndex((l) => l && !l.startsWith('#'))]).toBe('*');
    expect(ignore).toContain('**/.env');
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of m[1].split(/\s+/)) {
        expect(existsSync(join(ROOT, source))).toBe(true);
        expect(ignore.some((l) => l === `!${source}` || l === `!${source}/`)).toBe(true);
      }
    }
    // The scripts CI runs are the ones the image runs.
    const pkg = JSON.parse(read(join(ROOT, 'package.json')));
    expect(pkg.scripts.build).toBeDefined();
    expect(pkg.scripts.start).toBe('node dist/main.js');
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(read(join(DOCKER, 'grafana/dashboards/pulsar-relay.json')));
  const queries = grafanaDashboardQueries(dashboard);
  const metricNames = [...new Set(queries.flatMap((q) => metricNamesInPromQL(q.expr)))].sort();

  it('queries the metrics the issue asks for', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
    const families = new Set(metricNames.map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    for (const metric of REQUIRED_DASHBOARD_METRICS) expect(families).toContain(metric);
    expect(dashboard.uid).toBe('pulsar-relay');
  });

  it('extracts metric names from PromQL correctly (self-check of the parser)', () => {
    expect(
      metricNamesInPromQL(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{instance=~"$instance",route!="/x"}[$__rate_interval]))) / clamp_min(sum(rate(a_total[5m] offset 1h)), 1e-9) > bool 2',
      ).sort(),
    ).toEqual(['a_total', 'http_request_duration_seconds_bucket']);
  });

  describe('against a running relay', () => {
    let app: TestApp;
    let exposition: string;
    beforeAll(async () => {
      app = await startApp();
      // One request first so that HTTP metrics have samples too.
      await fetch(`${app.baseUrl}/health`);
      const response = await fetch(`${app.baseUrl}/metrics`);
      expect(response.status).toBe(200);
      exposition = await response.text();
    });
    afterAll(async () => {
      await app?.close();
    });

    it('every metric a dashboard query uses is exported by the relay at /metrics', () => {
      const types = exportedMetricTypes(exposition);
      const problems = metricNames
        .map((name) => ({ name, ...resolveSeries(name, types) }))
        .filter((r) => r.error)
        .map((r) => {
          const panels = queries
            .filter((q) => metricNamesInPromQL(q.expr).includes(r.name))
            .map((q) => q.panel);
          return `${r.error} (panels: ${[...new Set(panels)].join(', ')})`;
        });
      expect(problems).toEqual([]);
    });
  });
});
