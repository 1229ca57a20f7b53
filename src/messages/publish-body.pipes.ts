import { Injectable, PipeTransform } from '@nestjs/common';
import { RelayConfig } from '../config/relay-config';
import { NewMessage } from '../storage/ports';
import { parseBulkBody, parsePublishBody, PublishLimits } from './message-input';

@Injectable()
export class PublishBodyPipe implements PipeTransform<unknown, NewMessage> {
  private readonly limits: PublishLimits;

  constructor(config: RelayConfig) {
    this.limits = config.limits;
  }

  transform(body: unknown): NewMessage {
    return parsePublishBody(body, this.limits);
  }
}

@Injectable()
export class BulkPublishBodyPipe implements PipeTransform<unknown, NewMessage[]> {
  private readonly limits: PublishLimits;

  constructor(config: RelayConfig) {
    this.limits = config.limits;
  }

  transform(body: unknown): NewMessage[] {
    return parseBulkBody(body, this.limits);
  }
}
