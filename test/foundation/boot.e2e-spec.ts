import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs src/main.ts (through ts-node) with only the given environment, until exit or `until` matches. */
function runMain(env: Record<string, string>, until?: RegExp, timeoutMs = 25000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'src/main.ts'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          PULSAR_LOG_LEVEL: 'warn',
          ...env,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until && until.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('process start-up', () => {
  it('exits with code 2 listing every bad key', async () => {
    const run = await runMain({ PULSAR_HTTP_PORT: 'eighty', PULSAR_STORAGE_BACKEND: 'mongo' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PULSAR_HTTP_PORT');
    expect(run.stderr).toContain('PULSAR_STORAGE_BACKEND');
  });

  it('refuses insecure settings in production with code 2', async () => {
    const run = await runMain({ NODE_ENV: 'production', PULSAR_JWT_SECRET_KEY: 'short' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/PULSAR_JWT_SECRET_KEY/);
    expect(run.stderr).toMatch(/PULSAR_BOOTSTRAP_ADMIN_PASSWORD/);
  });

  it('starts on the memory backend, prints URL, Swagger URL and a generated admin password, and stops on SIGTERM with 0', async () => {
    const run = await runMain({ PULSAR_HTTP_PORT: '0', PULSAR_HOST: '127.0.0.1' }, /once; set/);
    expect(run.stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(storage: memory\)/);
    expect(run.stdout).toMatch(/Swagger UI: http:\/\/127\.0\.0\.1:\d+\/docs/);
    expect(run.stdout).toMatch(/Generated password for admin user 'admin': \S{12,}/);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
      code: 0,
      signal: null,
      stderr: expect.any(String),
    });
  });
});
