import { WsAdapter } from '@nestjs/platform-ws';

/**
 * Each `WsSession` reads its own frames, so Nest's per-client RxJS message pipeline (about 1.5 KB
 * and a dozen closures per idle socket) is not built at all.
 */
export class RelayWsAdapter extends WsAdapter {
  override bindMessageHandlers(): void {
    // Frames are handled by WsSession.
  }
}
