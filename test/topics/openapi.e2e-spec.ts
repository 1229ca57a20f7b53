import { http } from '../support/http';
import { bootApp, Harness } from './fixtures';

describe('OpenAPI of the topic and message routes', () => {
  let h: Harness;
  let doc: any;

  beforeAll(async () => {
    h = await bootApp('memory');
    doc = (await http(h.baseUrl, 'GET', '/openapi.json')).body;
  });
  afterAll(() => h?.close());

  const routes: Array<[string, string, string[]]> = [
    ['post', '/api/v1/topics', ['201', '400', '401', '403', '422']],
    ['get', '/api/v1/topics', ['200', '401']],
    ['get', '/api/v1/topics/stats', ['200', '401', '403']],
    ['get', '/api/v1/topics/{topic_name}', ['200', '404', '422']],
    ['put', '/api/v1/topics/{topic_name}', ['200', '403', '404', '422']],
    ['delete', '/api/v1/topics/{topic_name}', ['204', '403', '404']],
    ['get', '/api/v1/topics/{topic_name}/messages', ['200', '400', '404', '422']],
    ['post', '/api/v1/topics/{topic_name}/permissions', ['201', '400', '403', '404']],
    ['get', '/api/v1/topics/{topic_name}/permissions', ['200', '403', '404']],
    ['delete', '/api/v1/topics/{topic_name}/permissions/{user_id}', ['204', '404']],
    ['post', '/api/v1/messages', ['201', '403', '409', '413', '422', '429']],
    ['post', '/api/v1/messages/bulk', ['207', '403', '409', '413', '422', '429']],
  ];

  it.each(routes)(
    'documents %s %s with bearer auth, a summary and its responses',
    (method, path, statuses) => {
      const operation = doc.paths[path]?.[method];
      expect(operation).toBeDefined();
      expect(operation.summary).toEqual(expect.any(String));
      expect(operation.tags).toEqual([path.startsWith('/api/v1/topics') ? 'topics' : 'messages']);
      expect(operation.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(statuses));
    },
  );

  it('documents the response bodies', () => {
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.TopicResponseDto.properties)).toEqual(
      expect.arrayContaining([
        'topic_id',
        'topic_name',
        'owner_id',
        'is_public',
        'description',
        'created_at',
      ]),
    );
    expect(Object.keys(schemas.BulkPublishResponseDto.properties)).toEqual(['results', 'summary']);
    expect(doc.paths['/api/v1/messages'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]),
    );
  });
});
