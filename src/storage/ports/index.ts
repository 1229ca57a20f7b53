export * from './message-store';
export * from './user-store';
export * from './topic-store';
export * from './token-store';
export * from './key-value-store';
export * from './message-bus';
export * from './storage-health';
