import type { IncomingMessage } from 'node:http';
import { EventEmitter } from 'node:events';
import { AuthUser } from '../../auth/auth-user';
import { TokenVerifier } from '../../auth/token-verifier';
import { UnauthenticatedError } from '../../common/errors';
import { RelayConfig } from '../../config/relay-config';
import { Consumer } from '../consumer';
import { ConsumerRegistry } from '../consumer-registry';
import { extractToken, refusalFor, WsHandshake } from './ws-handshake';

function request(url: string, headers: Record<string, string> = {}): IncomingMessage {
  return {
    url,
    headers: { host: 'relay.test', ...headers },
    socket: new EventEmitter(),
  } as unknown as IncomingMessage;
}

const reader: AuthUser = { userId: 'u1', username: 'u1', permissions: ['read'], jti: 'j', exp: 0 };

describe('extractToken', () => {
  it('reads the bearer subprotocol pair, else ?token=', () => {
    expect(extractToken(request('/ws', { 'sec-websocket-protocol': 'bearer, bearer.a.b.c' }))).toBe(
      'a.b.c',
    );
    expect(extractToken(request('/ws?token=q.r.s'))).toBe('q.r.s');
    expect(extractToken(request('/ws', { 'sec-websocket-protocol': 'bearer.a.b.c' }))).toBeNull();
    expect(extractToken(request('/ws?token='))).toBeNull();
  });
});

describe('WsHandshake', () => {
  const config = {
    server: { trustedHosts: ['relay.test'], allowedOrigins: ['https://ok.test'] },
    limits: { maxConnectionsPerInstance: 10, wsMaxPerUser: 2 },
  } as unknown as RelayConfig;
  let verifier: { verify: jest.Mock };
  let registry: ConsumerRegistry;
  let sut: WsHandshake;

  beforeEach(() => {
    verifier = { verify: jest.fn().mockResolvedValue(reader) };
    registry = new ConsumerRegistry();
    sut = new WsHandshake(verifier as unknown as TokenVerifier, registry, config);
  });

  it.each([
    ['an untrusted host', request('/ws?token=t', { host: 'evil.test' }), 400, 'INVALID_HOST'],
    [
      'a foreign origin',
      request('/ws?token=t', { origin: 'https://evil.test' }),
      403,
      'ORIGIN_NOT_ALLOWED',
    ],
    ['no token', request('/ws'), 401, 'NOT_AUTHENTICATED'],
  ])('refuses %s', async (_name, req, status, code) => {
    await expect(sut.authorize(req)).rejects.toMatchObject({ status, code });
  });

  it('passes on verifier errors and refuses users without read', async () => {
    verifier.verify.mockRejectedValueOnce(
      new UnauthenticatedError('Token has been revoked', 'TOKEN_REVOKED'),
    );
    await expect(sut.authorize(request('/ws?token=t'))).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
    });
    verifier.verify.mockResolvedValueOnce({ ...reader, permissions: ['write'] });
    await expect(sut.authorize(request('/ws?token=t'))).rejects.toMatchObject({ status: 403 });
  });

  it('counts accepted handshakes against the per-user limit until their socket closes', async () => {
    const first = request('/ws?token=t');
    await sut.authorize(first);
    await sut.authorize(request('/ws?token=t'));
    await expect(sut.authorize(request('/ws?token=t'))).rejects.toMatchObject({ status: 429 });
    (first.socket as unknown as EventEmitter).emit('close'); // that upgrade never completed
    await sut.authorize(request('/ws?token=t'));
  });

  it('hands the slot to the registry once claimed', async () => {
    const req = request('/ws?token=t');
    await sut.authorize(req);
    sut.take(req)?.claim();
    expect(sut.take(req)).toBeNull();
    registry.add({ kind: 'websocket', user: reader } as Consumer);
    await sut.authorize(request('/ws?token=t'));
    await expect(sut.authorize(request('/ws?token=t'))).rejects.toMatchObject({ status: 429 });
  });

  it('refuses with 503 when the instance is at its connection limit', async () => {
    sut = new WsHandshake(verifier as unknown as TokenVerifier, registry, {
      ...config,
      limits: { maxConnectionsPerInstance: 1, wsMaxPerUser: 5 },
    } as RelayConfig);
    await sut.authorize(request('/ws?token=t'));
    await expect(sut.authorize(request('/ws?token=t'))).rejects.toMatchObject({
      status: 503,
      code: 'TOO_MANY_CONNECTIONS',
    });
  });

  it('refuses everything once draining', async () => {
    sut.stopAccepting();
    await expect(sut.authorize(request('/ws?token=t'))).rejects.toMatchObject({ status: 503 });
  });

  it('renders refusals as JSON, never with internals', () => {
    expect(refusalFor(new Error('secret'))).toEqual({
      status: 500,
      code: 'INTERNAL_ERROR',
      body: '{"detail":"Internal Server Error","code":"INTERNAL_ERROR"}',
      headers: { 'Content-Type': 'application/json' },
    });
  });
});
