import { BeforeApplicationShutdown, Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { RelayConfig } from '../../config/relay-config';
import { MessageStore } from '../../storage/ports';
import { AccessCheck } from '../access-check';
import { AckStore } from '../ack-store';
import { ConsumerRegistry } from '../consumer-registry';
import { DeliveryControl } from '../delivery-control';
import { DeliveryMetrics } from '../delivery-metrics';
import { Fanout } from '../fanout';
import { refusalFor, WsHandshake } from './ws-handshake';
import { CLOSE_GOING_AWAY, CLOSE_INTERNAL, SessionContext, WsSession } from './ws-session';

const REPLAY_PAGE_SIZE = 500;
const REPLAY_BUFFER_MAX = 1000;
/** Frames above the configured size get an error frame; far above it, ws closes with 1009. */
const HARD_FRAME_FACTOR = 16;
const MAX_CLOSE_WAIT_MS = 10_000;

/**
 * `/ws` on the application's HTTP port (`@nestjs/platform-ws`). Authentication happens in the
 * `verifyClient` hook, i.e. before the upgrade, so a refused client gets a plain HTTP answer.
 */
@WebSocketGateway({ path: '/ws' })
export class WsGateway
  implements
    OnGatewayInit<WebSocketServer>,
    OnGatewayConnection<WebSocket>,
    OnModuleDestroy,
    BeforeApplicationShutdown
{
  private readonly logger = new Logger('WsGateway');
  private readonly sessions = new Set<WsSession>();
  private readonly context: SessionContext;
  private heartbeat: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;

  constructor(
    private readonly handshake: WsHandshake,
    private readonly registry: ConsumerRegistry,
    private readonly metrics: DeliveryMetrics,
    private readonly config: RelayConfig,
    store: MessageStore,
    fanout: Fanout,
    access: AccessCheck,
    acks: AckStore,
    control: DeliveryControl,
  ) {
    const { limits } = config;
    this.context = {
      frameLimits: {
        maxFrameBytes: limits.wsMaxFrameBytes,
        maxTopics: limits.wsMaxTopicsPerSocket,
      },
      maxBufferedBytes: limits.wsMaxBufferedBytes,
      subscription: {
        replayMax: limits.wsReplayMax,
        pageSize: Math.min(REPLAY_PAGE_SIZE, limits.wsReplayMax + 1),
        bufferMax: REPLAY_BUFFER_MAX,
      },
      store,
      fanout,
      batch: fanout.batch,
      access,
      acks,
      control,
      metrics,
      logger: this.logger,
    };
  }

  afterInit(server: WebSocketServer): void {
    // The decorator's options are static; these need the injected services and config.
    server.options.maxPayload = this.config.limits.wsMaxFrameBytes * HARD_FRAME_FACTOR;
    server.options.handleProtocols = (protocols) => (protocols.has('bearer') ? 'bearer' : false);
    server.options.verifyClient = (info, callback) => {
      this.handshake.authorize(info.req).then(
        () => callback(true),
        (error: unknown) => {
          const refusal = refusalFor(error);
          this.metrics.error(refusal.code);
          if (refusal.code === 'INTERNAL_ERROR') {
            this.logger.error({ err: error }, 'WebSocket handshake failed');
          }
          callback(false, refusal.status, refusal.body, refusal.headers);
        },
      );
    };
    const intervalMs = this.config.limits.wsHeartbeatInterval * 1000;
    if (intervalMs > 0) {
      this.heartbeat = setInterval(() => {
        for (const session of this.sessions) session.heartbeat();
      }, intervalMs);
      this.heartbeat.unref();
    }
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    const grant = this.handshake.take(req);
    if (!grant) {
      ws.close(CLOSE_INTERNAL, 'Handshake state lost');
      return;
    }
    grant.claim();
    const session = new WsSession(ws, req.socket, grant.user, this.context, (ended) => {
      this.sessions.delete(ended);
      this.registry.remove(ended);
      this.metrics.socketClosed();
    });
    this.sessions.add(session);
    this.registry.add(session);
    this.metrics.socketOpened();
  }

  /** Sessions of this instance (for stats and tests). */
  sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Graceful shutdown, started by the first lifecycle hook of `app.close()` while storage is
   * still up: refuse new handshakes, close every socket with 1001, wait for the close handshakes
   * (bounded by `server.shutdown_grace`), then cut what is left.
   */
  onModuleDestroy(): Promise<void> {
    return this.drain();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  private drain(): Promise<void> {
    this.draining ??= this.closeAll();
    return this.draining;
  }

  private async closeAll(): Promise<void> {
    this.handshake.stopAccepting();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const sessions = [...this.sessions];
    for (const session of sessions) session.close(CLOSE_GOING_AWAY, 'Server shutting down');
    const graceMs = Math.min(this.config.server.shutdownGrace * 1000, MAX_CLOSE_WAIT_MS);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(sessions.map((s) => s.closed)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    for (const session of this.sessions) session.terminate();
  }
}
