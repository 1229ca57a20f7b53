import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { TopicsModule } from '../topics/topics.module';
import { UsersModule } from '../users/users.module';
import { AccessCheck } from './access-check';
import { AckStore } from './ack-store';
import { ConsumerRegistry } from './consumer-registry';
import { DeliveryControl } from './delivery-control';
import { DeliveryMetrics } from './delivery-metrics';
import { Fanout } from './fanout';
import { PollController } from './poll/poll.controller';
import { PollService } from './poll/poll.service';
import { WsGateway } from './ws/ws.gateway';
import { WsHandshake } from './ws/ws-handshake';

/** Consumers: the `/ws` gateway and long-poll, both fed by one `Fanout` over the `MessageBus`. */
@Module({
  imports: [AuthModule, TopicsModule, UsersModule],
  controllers: [PollController],
  providers: [
    DeliveryMetrics,
    Fanout,
    ConsumerRegistry,
    DeliveryControl,
    AccessCheck,
    AckStore,
    WsHandshake,
    WsGateway,
    PollService,
  ],
})
export class DeliveryModule {}
