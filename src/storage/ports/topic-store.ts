export type TopicPermission = 'read' | 'write';

export interface TopicGrant {
  userId: string;
  permissions: TopicPermission[];
  grantedAt: string;
}

export interface TopicRecord {
  topicId: string;
  name: string;
  ownerId: string;
  isPublic: boolean;
  description: string | null;
  createdAt: string;
  grants: TopicGrant[];
}

export type TopicPatch = Partial<Pick<TopicRecord, 'description' | 'isPublic'>>;

export interface TopicStats {
  totalTopics: number;
  publicTopics: number;
}

/** Topics live in one global namespace. */
export abstract class TopicStore {
  /** Creates the topic; false (nothing written) when the name exists. Atomic. */
  abstract create(topic: Omit<TopicRecord, 'grants'>): Promise<boolean>;
  abstract get(name: string): Promise<TopicRecord | null>;
  abstract update(name: string, patch: TopicPatch): Promise<TopicRecord | null>;
  /** Removes the record and its grants; false when absent. */
  abstract delete(name: string): Promise<boolean>;
  abstract list(): Promise<TopicRecord[]>;
  /** Names of the topics owned by the user. */
  abstract listOwned(ownerId: string): Promise<string[]>;
  /** Adds or replaces a grant; false when the topic does not exist. */
  abstract putGrant(name: string, grant: TopicGrant): Promise<boolean>;
  /** False when there was no such grant. */
  abstract removeGrant(name: string, userId: string): Promise<boolean>;
  abstract stats(): Promise<TopicStats>;
}
