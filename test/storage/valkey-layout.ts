import { randomUUID } from 'node:crypto';
import { StorageInstance, unique } from './storage-instance';

/** Touches every kind of key the driver writes. */
export async function writeOneOfEverything(sut: StorageInstance): Promise<string> {
  const topic = unique('layout');
  const userId = randomUUID();
  const at = new Date().toISOString();
  await sut.messages.append({
    topic,
    payload: { a: 1 },
    metadata: { m: 'x' },
    ttl: 60,
    idempotencyMarker: 'u:k',
  });
  await sut.topics.create({
    topicId: randomUUID(),
    name: topic,
    ownerId: userId,
    isPublic: false,
    description: null,
    createdAt: at,
  });
  await sut.topics.putGrant(topic, { userId, permissions: ['read'], grantedAt: at });
  await sut.users.create({
    userId,
    username: unique('layout-user'),
    email: null,
    hashedPassword: 'h',
    isActive: true,
    createdAt: at,
    permissions: ['read'],
  });
  await sut.tokens.saveRefresh({
    jti: randomUUID(),
    userId,
    secretHash: 'h',
    parentJti: null,
    issuedAt: at,
    expiresAt: at,
    lastUsedAt: null,
    revoked: false,
    revokedReason: null,
    clientHint: null,
  });
  await sut.tokens.denyAccessToken(randomUUID(), 60);
  await sut.kv.set('idem:u:k', 'v', 60);
  await sut.kv.increment('rate:u', 60);
  return topic;
}
