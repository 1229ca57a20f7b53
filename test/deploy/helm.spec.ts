import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { isTrustedHost } from '../../src/common/middleware/trusted-hosts';
import { METRICS } from '../../src/metrics/metric-names';
import {
  CHART_DIR,
  K8sObject,
  REPO_ROOT,
  all,
  helmBinary,
  one,
  parseManifests,
  renderChart,
  renderChartError,
  runHelm,
} from './support/helm';
import { metricNamesInPromQL } from './support/promql';

const RELEASE = 'relay';
const NAMESPACE = 'messaging';
const FULLNAME = 'relay-pulsar-relay';
const VALKEY_NAME = 'relay-pulsar-relay-valkey';

function relayContainer(deployment: K8sObject): any {
  const containers = deployment.spec.template.spec.containers as any[];
  const relay = containers.find((c) => c.name === 'relay');
  if (!relay) throw new Error('no container named relay');
  return relay;
}

function envVar(container: any, name: string): any {
  const found = (container.env as any[]).filter((e) => e.name === name);
  if (found.length !== 1) throw new Error(`expected one env var ${name}, found ${found.length}`);
  return found[0];
}

function containerPort(container: any, portRef: string | number): number {
  if (typeof portRef === 'number') return portRef;
  const port = (container.ports as any[]).find((p) => p.name === portRef);
  if (!port) throw new Error(`container has no port named ${portRef}`);
  return port.containerPort;
}

function decodedSecret(secret: K8sObject, key: string): string {
  expect(secret.data).toHaveProperty([key]);
  return Buffer.from(secret.data[key], 'base64').toString('utf8');
}

function relayConfigFile(objects: K8sObject[]): Record<string, any> {
  const text = one(objects, 'ConfigMap', FULLNAME).data['config.yaml'];
  return parseYaml(text) as Record<string, any>;
}

/** valkey.conf directives (`save` accumulates). */
function valkeyDirectives(text: string): Map<string, string> {
  const directives = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [key, ...rest] = line.split(/\s+/);
    const value = rest.join(' ').replace(/^"(.*)"$/, '$1');
    const name = key.toLowerCase();
    directives.set(
      name,
      name === 'save' && directives.has(name) ? `${directives.get(name)} ${value}` : value,
    );
  }
  return directives;
}

/**
 * Boots the relay's real config loader on what the chart renders: the ConfigMap file as
 * PULSAR_CONFIG_FILE plus the Deployment's env, secrets resolved from the rendered Secret.
 */
function loadRenderedConfig(
  objects: K8sObject[],
  secrets: Record<string, Record<string, string>> = {},
) {
  const deployment = one(objects, 'Deployment', FULLNAME);
  const container = relayContainer(deployment);
  const dir = mkdtempSync(join(tmpdir(), 'pulsar-chart-config-'));
  try {
    const mount = (container.volumeMounts as any[]).find((m) => m.name === 'config');
    const env: Record<string, string> = {};
    for (const e of container.env as any[]) {
      if (e.value !== undefined) env[e.name] = String(e.value);
      else if (e.valueFrom?.secretKeyRef) {
        const { name, key } = e.valueFrom.secretKeyRef;
        const rendered = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
        const value = rendered ? decodedSecret(rendered, key) : secrets[name]?.[key];
        if (value === undefined)
          throw new Error(`env ${e.name} refers to ${name}/${key}, which does not exist`);
        env[e.name] = value;
      }
    }
    // The file is mounted at <mountPath>/config.yaml; reproduce that inside the temp dir.
    const configPath = env.PULSAR_CONFIG_FILE;
    expect(configPath.startsWith(`${mount.mountPath}/`)).toBe(true);
    const local = join(dir, configPath.slice(mount.mountPath.length + 1));
    writeFileSync(local, one(objects, 'ConfigMap', FULLNAME).data['config.yaml']);
    env.PULSAR_CONFIG_FILE = local;
    const warnings: string[] = [];
    const config = loadConfig({ env, cwd: dir, warnings });
    return { config, warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Helm chart helm/pulsar-relay', () => {
  beforeAll(() => {
    // Throws (failing every test) with a clear message when helm cannot be extracted or run.
    helmBinary();
  });

  it('runs a real helm v3', () => {
    const result = runHelm(['version', '--short']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^v3\.\d+\.\d+/);
  });

  it('declares the relay version of package.json as appVersion', () => {
    const chart = parseYaml(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('pulsar-relay');
    expect(String(chart.appVersion)).toBe(pkg.version);
  });

  it('passes helm lint --strict with default values and every ci/ values file', () => {
    const variants = [
      [],
      ...readdirSync(join(CHART_DIR, 'ci')).map((f) => ['-f', join(CHART_DIR, 'ci', f)]),
    ];
    expect(variants.length).toBeGreaterThanOrEqual(4);
    for (const extra of variants) {
      const result = runHelm(['lint', '--strict', CHART_DIR, ...extra]);
      if (result.status !== 0)
        throw new Error(`helm lint ${extra.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
      expect(result.stdout).toContain('0 chart(s) failed');
    }
  });

  it('documents every value in values.yaml', () => {
    // A leaf key needs a comment right above it, or an ancestor documented as a whole with "# --".
    const lines = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8').split('\n');
    const stack: { indent: number; key: string; wholeDoc: boolean }[] = [];
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z0-9_.\-"/]+):(.*)$/.exec(line);
      if (!m || line.trim().startsWith('#')) return;
      const indent = m[1].length;
      while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
      const hasComment = (lines[i - 1] ?? '').trim().startsWith('#');
      let start = i - 1;
      while (hasComment && start > 0 && lines[start - 1].trim().startsWith('#')) start--;
      const wholeDoc = hasComment && lines.slice(start, i).some((l) => l.trim().startsWith('# --'));
      const next = lines.slice(i + 1).find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
      const nextIndent = next.length - next.trimStart().length;
      const isLeaf =
        m[3].trim() !== '' || nextIndent <= indent || next.trimStart().startsWith('- ');
      const path = [...stack.map((s) => s.key), m[2]].join('.');
      if (isLeaf && !hasComment && !stack.some((s) => s.wholeDoc)) undocumented.push(path);
      stack.push({ indent, key: m[2], wholeDoc });
    });
    expect(undocumented).toEqual([]);
  });

  describe('with default values', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = renderChart({ release: RELEASE, namespace: NAMESPACE });
    });

    it('renders the relay, its Secret and ConfigMap, a PDB and a bundled Valkey; nothing optional', () => {
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(kinds).toEqual(
        [
          `ConfigMap/${FULLNAME}`,
          `ConfigMap/${VALKEY_NAME}`,
          `Deployment/${FULLNAME}`,
          `NetworkPolicy/${VALKEY_NAME}`,
          `PodDisruptionBudget/${FULLNAME}`,
          `Secret/${FULLNAME}`,
          `Service/${FULLNAME}`,
          `Service/${VALKEY_NAME}`,
          `ServiceAccount/${FULLNAME}`,
          `StatefulSet/${VALKEY_NAME}`,
        ].sort(),
      );
      for (const o of objects) expect(o.metadata.namespace).toBe(NAMESPACE);
    });

    it('probes /health (startup, liveness) and /ready (readiness) on the container port the relay listens on', () => {
      const deployment = one(objects, 'Deployment', FULLNAME);
      const container = relayContainer(deployment);
      const listen = relayConfigFile(objects).server.http_port;
      expect(listen).toBe(8080);
      expect(container.livenessProbe.httpGet.path).toBe('/health');
      expect(container.startupProbe.httpGet.path).toBe('/health');
      expect(container.readinessProbe.httpGet.path).toBe('/ready');
      for (const probe of [
        container.livenessProbe,
        container.readinessProbe,
        container.startupProbe,
      ]) {
        expect(containerPort(container, probe.httpGet.port)).toBe(listen);
        expect(probe.timeoutSeconds).toBeGreaterThanOrEqual(1);
      }
      // The Service forwards to that same port.
      const service = one(objects, 'Service', FULLNAME);
      expect(containerPort(container, service.spec.ports[0].targetPort)).toBe(listen);
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      expect(service.spec.sessionAffinity ?? 'None').toBe('None');
    });

    it('runs as non-root with a read-only root filesystem and no capabilities', () => {
      const deployment = one(objects, 'Deployment', FULLNAME);
      const pod = deployment.spec.template.spec;
      const container = relayContainer(deployment);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(container.securityContext.capabilities.drop).toContain('ALL');
      expect(container.securityContext.capabilities.add ?? []).toEqual([]);
      // Writable /tmp despite the read-only root.
      const tmp = (container.volumeMounts as any[]).find((m) => m.mountPath === '/tmp');
      expect(pod.volumes.find((v: any) => v.name === tmp.name).emptyDir).toBeDefined();
      expect(container.resources.requests.cpu).toBeDefined();
      expect(container.resources.requests.memory).toBeDefined();
      expect(container.resources.limits.memory).toBeDefined();
    });

    it('gives pods longer to terminate than preStop + the relay drain, and rolls without losing capacity', () => {
      const deployment = one(objects, 'Deployment', FULLNAME);
      const pod = deployment.spec.template.spec;
      const container = relayContainer(deployment);
      const drain = relayConfigFile(objects).server.shutdown_grace;
      const preStop = container.lifecycle.preStop.exec.command;
      expect(preStop[0]).toBe('sleep');
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain + Number(preStop[1]));
      expect(drain).toBeGreaterThanOrEqual(10);
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy.type).toBe('RollingUpdate');
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      expect(one(objects, 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(
        deployment.spec.selector.matchLabels,
      );
    });

    it('takes every secret from the Secret by secretKeyRef, never as a literal', () => {
      const container = relayContainer(one(objects, 'Deployment', FULLNAME));
      const secret = one(objects, 'Secret', FULLNAME);
      for (const [name, key] of [
        ['PULSAR_JWT_SECRET_KEY', 'jwt-secret-key'],
        ['PULSAR_BOOTSTRAP_ADMIN_PASSWORD', 'admin-password'],
        ['PULSAR_VALKEY_PASSWORD', 'valkey-password'],
      ]) {
        const env = envVar(container, name);
        expect(env.value).toBeUndefined();
        expect(env.valueFrom.secretKeyRef).toEqual({ name: FULLNAME, key });
        expect(decodedSecret(secret, key).length).toBeGreaterThanOrEqual(16);
      }
      expect(decodedSecret(secret, 'jwt-secret-key').length).toBeGreaterThanOrEqual(32);
      expect(envVar(container, 'NODE_ENV').value).toBe('production');
      // Secrets stay out of the ConfigMap.
      const configText = one(objects, 'ConfigMap', FULLNAME).data['config.yaml'];
      expect(configText).not.toContain(decodedSecret(secret, 'jwt-secret-key'));
      expect(configText).not.toMatch(/password|jwt_secret/i);
      // Pods restart when the config changes.
      expect(
        one(objects, 'Deployment').spec.template.metadata.annotations['checksum/config'],
      ).toMatch(/^[0-9a-f]{64}$/);
    });

    it('mounts the config file named by PULSAR_CONFIG_FILE, and the real config loader accepts it in production mode', () => {
      const deployment = one(objects, 'Deployment', FULLNAME);
      const container = relayContainer(deployment);
      const file = envVar(container, 'PULSAR_CONFIG_FILE').value as string;
      const mount = (container.volumeMounts as any[]).find((m) =>
        file.startsWith(`${m.mountPath}/`),
      );
      expect(mount).toBeDefined();
      expect(mount.readOnly).toBe(true);
      const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
      expect(volume.configMap.name).toBe(FULLNAME);
      expect(one(objects, 'ConfigMap', FULLNAME).data).toHaveProperty([
        file.slice(mount.mountPath.length + 1),
      ]);

      const { config, warnings } = loadRenderedConfig(objects);
      expect(warnings.filter((w) => /unknown key/.test(w))).toEqual([]);
      expect(config.isProduction).toBe(true);
      expect(config.storage.backend).toBe('valkey');
      expect(config.valkey.host).toBe(`${VALKEY_NAME}.${NAMESPACE}.svc`);
      expect(config.valkey.port).toBe(6379);
      expect(config.server.httpPort).toBe(8080);
      expect(config.auth.jwtSecretKey.length).toBeGreaterThanOrEqual(32);
      expect(config.valkey.password).not.toBe('');
    });

    it('bundles Valkey: StatefulSet with a PVC, AOF config, headless Service and the password from the Secret', () => {
      const sts = one(objects, 'StatefulSet', VALKEY_NAME);
      const service = one(objects, 'Service', VALKEY_NAME);
      expect(service.spec.clusterIP).toBe('None');
      expect(sts.spec.serviceName).toBe(service.metadata.name);
      expect(sts.spec.replicas).toBe(1);
      expect(service.spec.selector).toEqual(sts.spec.selector.matchLabels);
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('8Gi');
      const pod = sts.spec.template.spec;
      const container = pod.containers[0];
      expect(container.volumeMounts).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'data', mountPath: '/data' })]),
      );
      const args = [...(container.command ?? []), ...(container.args ?? [])];
      expect(args).toEqual(expect.arrayContaining(['--requirepass', '$(VALKEY_PASSWORD)']));
      expect(envVar(container, 'VALKEY_PASSWORD').valueFrom.secretKeyRef).toEqual({
        name: FULLNAME,
        key: 'valkey-password',
      });
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext.capabilities.drop).toContain('ALL');
      expect(container.readinessProbe).toBeDefined();

      // The mounted valkey.conf is the chart's ConfigMap, with AOF everysec and no eviction.
      const confFile = args.find((a: string) => a.endsWith('.conf'));
      const confMount = container.volumeMounts.find((m: any) =>
        confFile.startsWith(`${m.mountPath}/`),
      );
      const confVolume = pod.volumes.find((v: any) => v.name === confMount.name);
      const conf = valkeyDirectives(
        one(objects, 'ConfigMap', confVolume.configMap.name).data[
          confFile.slice(confMount.mountPath.length + 1)
        ],
      );
      expect(conf.get('appendonly')).toBe('yes');
      expect(conf.get('appendfsync')).toBe('everysec');
      expect(conf.get('dir')).toBe('/data');
      expect(conf.get('maxmemory-policy')).toBe('noeviction');
      expect(conf.has('requirepass')).toBe(false);

      // Only relay pods may reach it.
      const policy = one(objects, 'NetworkPolicy', VALKEY_NAME);
      expect(policy.spec.podSelector.matchLabels).toEqual(sts.spec.selector.matchLabels);
      expect(policy.spec.ingress[0].from[0].podSelector.matchLabels).toEqual(
        one(objects, 'Deployment').spec.selector.matchLabels,
      );
    });

    it("keeps the bundled Valkey's settings identical to config/valkey.conf", () => {
      const repoConf = join(REPO_ROOT, 'config/valkey.conf');
      if (!existsSync(repoConf))
        throw new Error(
          'config/valkey.conf is missing: the compose stack and this chart mirror it',
        );
      const repo = valkeyDirectives(readFileSync(repoConf, 'utf8'));
      const chart = valkeyDirectives(one(objects, 'ConfigMap', VALKEY_NAME).data['valkey.conf']);
      // Every setting is copied; only `bind` differs (the chart also listens on IPv6 where available).
      const copied = [...repo.keys()].filter((k) => k !== 'bind');
      expect(copied).toEqual(expect.arrayContaining(['appendonly', 'appendfsync']));
      const differences = copied
        .filter((k) => chart.get(k) !== repo.get(k))
        .map((k) => `${k}: config/valkey.conf=${repo.get(k)} chart=${chart.get(k) ?? '(unset)'}`);
      expect(differences).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('honours auth.existingSecret (and custom keys) everywhere and renders no Secret of its own', () => {
      const objects = renderChart({
        release: RELEASE,
        namespace: NAMESPACE,
        set: { 'auth.existingSecret': 'relay-credentials', 'auth.secretKeys.jwtSecret': 'jwt' },
      });
      expect(all(objects, 'Secret')).toEqual([]);
      const container = relayContainer(one(objects, 'Deployment'));
      expect(envVar(container, 'PULSAR_JWT_SECRET_KEY').valueFrom.secretKeyRef).toEqual({
        name: 'relay-credentials',
        key: 'jwt',
      });
      expect(envVar(container, 'PULSAR_BOOTSTRAP_ADMIN_PASSWORD').valueFrom.secretKeyRef.name).toBe(
        'relay-credentials',
      );
      expect(envVar(container, 'PULSAR_VALKEY_PASSWORD').valueFrom.secretKeyRef.name).toBe(
        'relay-credentials',
      );
      const valkey = one(objects, 'StatefulSet').spec.template.spec.containers[0];
      expect(envVar(valkey, 'VALKEY_PASSWORD').valueFrom.secretKeyRef).toEqual({
        name: 'relay-credentials',
        key: 'valkey-password',
      });
      expect(
        one(objects, 'Deployment').spec.template.metadata.annotations['checksum/secret'],
      ).toBeUndefined();

      const { config } = loadRenderedConfig(objects, {
        'relay-credentials': {
          jwt: 'x'.repeat(40),
          'admin-password': 'admin-pw',
          'valkey-password': 'vk-pw',
        },
      });
      expect(config.auth.jwtSecretKey).toBe('x'.repeat(40));
      expect(config.valkey.password).toBe('vk-pw');
    });

    it('uses given secrets verbatim', () => {
      const objects = renderChart({
        setString: {
          'auth.jwtSecret': 'j'.repeat(48),
          'auth.adminPassword': 'correct horse',
          'valkey.auth.password': 'vk',
        },
      });
      const secret = one(objects, 'Secret');
      expect(decodedSecret(secret, 'jwt-secret-key')).toBe('j'.repeat(48));
      expect(decodedSecret(secret, 'admin-password')).toBe('correct horse');
      expect(decodedSecret(secret, 'valkey-password')).toBe('vk');
    });

    it('generates the JWT key with randAlphaNum and reuses the live one on upgrade (lookup)', () => {
      const template = readFileSync(join(CHART_DIR, 'templates/secret.yaml'), 'utf8');
      expect(template).toMatch(/lookup "v1" "Secret"/);
      expect(template).toMatch(/randAlphaNum 64/);
      const a = decodedSecret(one(renderChart(), 'Secret'), 'jwt-secret-key');
      const b = decodedSecret(one(renderChart(), 'Secret'), 'jwt-secret-key');
      expect(a).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(a).not.toBe(b); // random on a fresh install (no cluster to look up here)
    });

    it('refuses a short JWT key and secrets placed in config', () => {
      expect(renderChartError({ setString: { 'auth.jwtSecret': 'short' } })).toMatch(
        /auth\.jwtSecret must be at least 32 characters/,
      );
      expect(
        renderChartError({ setString: { 'config.auth.bootstrap_admin_password': 'pw' } }),
      ).toMatch(/secrets do not belong in config/);
    });
  });

  describe('with external Valkey (ci/external-valkey-values.yaml)', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = renderChart({
        release: RELEASE,
        namespace: NAMESPACE,
        valuesFiles: ['ci/external-valkey-values.yaml'],
      });
    });

    it('renders no Valkey StatefulSet, Service, ConfigMap or NetworkPolicy', () => {
      expect(all(objects, 'StatefulSet')).toEqual([]);
      expect(objects.filter((o) => o.metadata.name === VALKEY_NAME)).toEqual([]);
      expect(all(objects, 'PersistentVolumeClaim')).toEqual([]);
    });

    it('points the relay at the external host with TLS and the password from the Secret', () => {
      const { config } = loadRenderedConfig(objects);
      expect(config.storage.backend).toBe('valkey');
      expect(config.valkey.host).toBe('valkey.prod.internal');
      expect(config.valkey.port).toBe(6380);
      expect(config.valkey.useTls).toBe(true);
      expect(config.valkey.username).toBe('relay');
      expect(config.valkey.keyPrefix).toBe('relay-prod:');
      expect(config.valkey.password).toBe('external-valkey-password-for-ci');
      const env = envVar(relayContainer(one(objects, 'Deployment')), 'PULSAR_VALKEY_PASSWORD');
      expect(env.valueFrom.secretKeyRef).toEqual({ name: FULLNAME, key: 'valkey-password' });
    });

    it('refuses an external Valkey without a password', () => {
      expect(renderChartError({ set: { 'valkey.external.host': 'valkey.example' } })).toMatch(
        /external Valkey needs a password/,
      );
    });

    it('refuses the valkey backend with neither bundled nor external Valkey', () => {
      expect(renderChartError({ set: { 'valkey.enabled': false } })).toMatch(/needs a Valkey/);
    });
  });

  describe('with ingress (ci/ingress-values.yaml)', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = renderChart({
        release: RELEASE,
        namespace: NAMESPACE,
        valuesFiles: ['ci/ingress-values.yaml'],
      });
    });

    it('routes to the relay Service with WebSocket/long-poll timeouts for ingress-nginx', () => {
      const ingress = one(objects, 'Ingress', FULLNAME);
      expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
      expect(ingress.spec.ingressClassName).toBe('nginx');
      const annotations = ingress.metadata.annotations!;
      for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
        const value = annotations[`nginx.ingress.kubernetes.io/${key}`];
        expect(typeof value).toBe('string');
        expect(Number(value)).toBeGreaterThanOrEqual(3600);
      }
      expect(annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('2m');
      expect(annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt');

      const service = one(objects, 'Service', FULLNAME);
      const rule = ingress.spec.rules[0];
      expect(rule.host).toBe('relay.example.com');
      const backend = rule.http.paths[0].backend.service;
      expect(backend.name).toBe(service.metadata.name);
      expect(service.spec.ports.map((p: any) => p.name)).toContain(backend.port.name);
      expect(ingress.spec.tls).toEqual([
        { secretName: 'relay-example-com-tls', hosts: ['relay.example.com'] },
      ]);
    });

    it('passes the proxy settings to the relay', () => {
      const { config } = loadRenderedConfig(objects);
      expect(config.server.trustProxy).toBe(true);
      expect(config.server.allowedOrigins).toEqual(['https://app.example.com']);
    });
  });

  describe('with HPA (ci/hpa-values.yaml)', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = renderChart({
        release: RELEASE,
        namespace: NAMESPACE,
        valuesFiles: ['ci/hpa-values.yaml'],
      });
    });

    it('scales the relay Deployment on CPU and leaves replicas to the HPA', () => {
      const hpa = one(objects, 'HorizontalPodAutoscaler', FULLNAME);
      const deployment = one(objects, 'Deployment', FULLNAME);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment.metadata.name,
      });
      expect(hpa.spec.minReplicas).toBe(3);
      expect(hpa.spec.maxReplicas).toBe(12);
      expect(hpa.spec.metrics).toContainEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } },
      });
      expect(deployment.spec.replicas).toBeUndefined();
      expect(relayContainer(deployment).resources.requests.cpu).toBe('500m');
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(60);
      const pdb = one(objects, 'PodDisruptionBudget');
      expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
      expect(pdb.spec.minAvailable).toBeUndefined();
    });

    it('scrapes /metrics through a ServiceMonitor that selects the relay Service', () => {
      const monitor = one(objects, 'ServiceMonitor', FULLNAME);
      const service = one(objects, 'Service', FULLNAME);
      expect(monitor.metadata.labels!.release).toBe('kube-prometheus-stack');
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
        expect(service.metadata.labels![k]).toBe(v);
      const valkeyService = one(objects, 'Service', VALKEY_NAME);
      expect(
        Object.entries(monitor.spec.selector.matchLabels).every(
          ([k, v]) => valkeyService.metadata.labels![k] === v,
        ),
      ).toBe(false);
      expect(monitor.spec.endpoints[0]).toMatchObject({
        port: service.spec.ports[0].name,
        path: '/metrics',
      });
    });

    it('ships alerts and the dashboard that query only metrics the relay exports', () => {
      const exported = new Set<string>([
        ...Object.values(METRICS),
        'nodejs_eventloop_lag_seconds',
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
      ]);
      const rule = one(objects, 'PrometheusRule', FULLNAME);
      const used = (rule.spec.groups[0].rules as any[]).flatMap((r) => metricNamesInPromQL(r.expr));
      const unknown = used
        .map((n) => n.replace(/_(bucket|sum|count)$/, ''))
        .filter((n) => !exported.has(n));
      expect(used.length).toBeGreaterThan(0);
      expect(unknown).toEqual([]);
      const dashboard = one(objects, 'ConfigMap', `${FULLNAME}-dashboard`);
      expect(dashboard.metadata.labels!.grafana_dashboard).toBe('1');
      expect(JSON.parse(dashboard.data['pulsar-relay.json'])).toEqual(
        JSON.parse(
          readFileSync(join(REPO_ROOT, 'docker/grafana/dashboards/pulsar-relay.json'), 'utf8'),
        ),
      );
    });
  });

  describe('the memory backend', () => {
    it('FAILS with more than one replica', () => {
      const error = renderChartError({
        set: { 'config.storage.backend': 'memory', replicaCount: 2 },
      });
      expect(error).toMatch(
        /config\.storage\.backend=memory cannot run more than one replica \(replicaCount=2\)/,
      );
      expect(error).toMatch(/use config\.storage\.backend=valkey to scale out/);
    });

    it('FAILS with the HPA enabled', () => {
      const error = renderChartError({
        set: { 'config.storage.backend': 'memory', replicaCount: 1, 'autoscaling.enabled': true },
      });
      expect(error).toMatch(
        /config\.storage\.backend=memory cannot run more than one replica, so autoscaling\.enabled must be false/,
      );
    });

    it('renders a single Recreate pod without Valkey, PDB or Valkey password', () => {
      const objects = renderChart({ set: { 'config.storage.backend': 'memory', replicaCount: 1 } });
      const deployment = one(objects, 'Deployment');
      expect(deployment.spec.replicas).toBe(1);
      expect(deployment.spec.strategy.type).toBe('Recreate');
      expect(all(objects, 'StatefulSet')).toEqual([]);
      expect(all(objects, 'PodDisruptionBudget')).toEqual([]);
      expect((relayContainer(deployment).env as any[]).map((e) => e.name)).not.toContain(
        'PULSAR_VALKEY_PASSWORD',
      );
      expect(one(objects, 'Secret').data['valkey-password']).toBeUndefined();
      const { config } = loadRenderedConfig(objects);
      expect(config.storage.backend).toBe('memory');
    });
  });

  it('keeps probes working when trusted hosts are restricted', () => {
    const objects = renderChart({ set: { 'config.server.trusted_hosts': '{relay.example.com}' } });
    const { config } = loadRenderedConfig(objects);
    expect(config.server.trustedHosts).toEqual(['relay.example.com', 'localhost']);
    const container = relayContainer(one(objects, 'Deployment'));
    for (const probe of [
      container.startupProbe,
      container.livenessProbe,
      container.readinessProbe,
    ]) {
      const host = (probe.httpGet.httpHeaders ?? []).find((h: any) => h.name === 'Host')?.value;
      expect(isTrustedHost(host, config.server.trustedHosts)).toBe(true);
    }
  });

  it('FAILS when terminationGracePeriodSeconds does not cover preStop + drain', () => {
    expect(renderChartError({ set: { terminationGracePeriodSeconds: 15 } })).toMatch(
      /terminationGracePeriodSeconds \(15\) must be greater than gracefulShutdown\.preStopSleepSeconds \+ drainSeconds \(5 \+ 10\)/,
    );
    const objects = renderChart({
      set: { 'gracefulShutdown.drainSeconds': 40, terminationGracePeriodSeconds: 60 },
    });
    expect(relayConfigFile(objects).server.shutdown_grace).toBe(40);
  });

  it('prints how to log in and publish with curl (NOTES.txt)', () => {
    // helm template does not render NOTES.txt: render it as a manifest in a copy of the chart.
    const dir = mkdtempSync(join(tmpdir(), 'pulsar-chart-notes-'));
    try {
      const chart = join(dir, 'pulsar-relay');
      mkdirSync(chart);
      cpSync(CHART_DIR, chart, { recursive: true });
      const notes = readFileSync(join(chart, 'templates/NOTES.txt'), 'utf8');
      rmSync(join(chart, 'templates/NOTES.txt'));
      writeFileSync(
        join(chart, 'templates/_notes_under_test.tpl'),
        `{{- define "test.notes" -}}\n${notes}\n{{- end }}\n`,
      );
      writeFileSync(
        join(chart, 'templates/notes-under-test.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "test.notes" . | toJson }}\n',
      );
      const render = (args: string[]) => {
        const result = runHelm([
          'template',
          RELEASE,
          chart,
          '--namespace',
          NAMESPACE,
          '--show-only',
          'templates/notes-under-test.yaml',
          ...args,
        ]);
        if (result.status !== 0) throw new Error(result.stderr);
        return parseManifests(result.stdout)[0].data.notes as string;
      };
      const text = render([]);
      expect(text).toContain(`get secret ${FULLNAME}`);
      expect(text).toMatch(/curl -s -X POST \$RELAY_URL\/auth\/login/);
      expect(text).toMatch(
        /curl -s -X POST \$RELAY_URL\/api\/v1\/messages[\s\S]*Authorization: Bearer \$TOKEN/,
      );
      expect(text).toContain(`port-forward svc/${FULLNAME}`);
      expect(render(['-f', join(chart, 'ci/ingress-values.yaml')])).toContain(
        'RELAY_URL=https://relay.example.com',
      );
      expect(render(['--set', 'config.storage.backend=memory', '--set', 'replicaCount=1'])).toMatch(
        /WARNING: the memory backend/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps the config error of an invalid setting back to the relay loader (sanity of loadRenderedConfig)', () => {
    const objects = renderChart({ setString: { 'config.limits.max_message_size': 'lots' } });
    expect(() => loadRenderedConfig(objects)).toThrow(ConfigError);
  });
});
