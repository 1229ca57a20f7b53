import { AuthUser } from '../auth/auth-user';
import { AccessDeniedError, TopicNotFoundError } from '../common/errors';
import { MemoryMessageBus } from '../storage/memory/memory-message-bus';
import { MemoryTopicStore } from '../storage/memory/memory-stores';
import { Permission, TopicRecord } from '../storage/ports';
import { TopicAccess, TopicAction } from './topic-access';

const user = (userId: string, permissions: Permission[] = ['read', 'write']): AuthUser => ({
  userId,
  username: userId,
  permissions,
  jti: null,
  exp: 0,
});

function topic(overrides: Partial<TopicRecord> = {}): TopicRecord {
  return {
    topicId: 't1',
    name: 'orders',
    ownerId: 'owner',
    isPublic: false,
    description: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    grants: [
      { userId: 'reader', permissions: ['read'], grantedAt: '' },
      { userId: 'writer', permissions: ['write'], grantedAt: '' },
      { userId: 'both', permissions: ['read', 'write'], grantedAt: '' },
    ],
    ...overrides,
  };
}

describe('TopicAccess.allows', () => {
  const cases: Array<[string, AuthUser, boolean, TopicAction, boolean]> = [
    ['owner reads', user('owner'), false, 'read', true],
    ['owner writes', user('owner'), false, 'write', true],
    ['owner manages', user('owner'), false, 'manage', true],
    ['admin reads', user('root', ['admin']), false, 'read', true],
    ['admin writes', user('root', ['admin']), false, 'write', true],
    ['admin manages', user('root', ['admin']), false, 'manage', true],
    ['read grantee reads', user('reader'), false, 'read', true],
    ['read grantee cannot write', user('reader'), false, 'write', false],
    ['read grantee cannot manage', user('reader'), false, 'manage', false],
    ['write grantee writes', user('writer'), false, 'write', true],
    ['write grantee cannot read a private topic', user('writer'), false, 'read', false],
    ['write grantee reads a public topic', user('writer'), true, 'read', true],
    ['read+write grantee does both', user('both'), false, 'write', true],
    ['stranger cannot read a private topic', user('x'), false, 'read', false],
    ['stranger reads a public topic', user('x'), true, 'read', true],
    ['stranger cannot write a public topic', user('x'), true, 'write', false],
    ['stranger cannot manage a public topic', user('x'), true, 'manage', false],
  ];

  it.each(cases)('%s', (_name, sut, isPublic, action, expected) => {
    expect(TopicAccess.allows(sut, topic({ isPublic }), action)).toBe(expected);
  });
});

describe('TopicAccess', () => {
  let store: MemoryTopicStore;
  let bus: MemoryMessageBus;
  let sut: TopicAccess;

  beforeEach(async () => {
    store = new MemoryTopicStore();
    bus = new MemoryMessageBus();
    sut = new TopicAccess(store, bus);
    const { grants: _grants, ...record } = topic();
    await store.create(record);
    await store.putGrant('orders', { userId: 'writer', permissions: ['write'], grantedAt: '' });
  });

  it('hides a missing or unreadable topic behind 404', async () => {
    await expect(sut.requireRead(user('x'), 'orders')).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(sut.requireRead(user('x'), 'nope')).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(sut.requireRead(user('owner'), 'orders')).resolves.toMatchObject({
      name: 'orders',
    });
  });

  it('answers manage with 404 when unreadable and 403 when only readable', async () => {
    await expect(sut.requireManage(user('x'), 'orders')).rejects.toBeInstanceOf(TopicNotFoundError);
    await store.update('orders', { isPublic: true });
    await expect(sut.requireManage(user('x'), 'orders', 'nope')).rejects.toEqual(
      new AccessDeniedError('nope'),
    );
  });

  it("auto-creates a missing topic owned by the publisher, and refuses someone else's", async () => {
    const created = await sut.requireWrite(user('alice'), 'fresh');
    expect(created).toMatchObject({ name: 'fresh', ownerId: 'alice', isPublic: false });
    expect(await store.get('fresh')).toMatchObject({ ownerId: 'alice' });
    await expect(sut.requireWrite(user('bob'), 'fresh')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(sut.requireWrite(user('writer'), 'orders')).resolves.toBeDefined();
  });

  it('lets concurrent publishers race to create a topic: one owner, others refused', async () => {
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c'].map((id) => sut.requireWrite(user(id), 'race')),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.every((o) => o.reason instanceof AccessDeniedError)).toBe(true);
  });

  it('forgets a cached topic when a control event announces an access change', async () => {
    await sut.requireWrite(user('writer'), 'orders');
    await store.removeGrant('orders', 'writer');
    await bus.publishControl({ kind: 'topic-access-changed', topic: 'orders' });
    await expect(sut.requireWrite(user('writer'), 'orders')).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
  });

  it('forgets a cached topic on invalidate and on deletion', async () => {
    await sut.requireWrite(user('writer'), 'orders');
    await store.removeGrant('orders', 'writer');
    sut.invalidate('orders');
    await expect(sut.requireWrite(user('writer'), 'orders')).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
    await store.delete('orders');
    await bus.publishControl({ kind: 'topic-deleted', topic: 'orders' });
    await expect(sut.requireWrite(user('writer'), 'orders')).resolves.toMatchObject({
      ownerId: 'writer',
    });
  });
});
