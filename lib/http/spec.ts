import type { ServiceInfo } from './context';

const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonAnswer = (description: string, schema: Record<string, unknown>) => ({ description, content: json(schema) });

/**
 * The OpenAPI 3 document of this API, served at `GET /?spec`. Kept next to
 * the router it describes; test/http/spec.test.ts validates it and checks
 * that every path in it answers.
 */
export function openApiSpec(info: ServiceInfo): Record<string, unknown> {
  const requestError = jsonAnswer('Request refused.', ref('RequestError'));
  const doc = {
    openapi: '3.0.3',
    info: { title: info.name, version: info.version, description: info.description },
    paths: {
      '/v1/events': {
        post: {
          operationId: 'postEvents',
          summary: 'Validate events against their schemas and produce the valid ones.',
          parameters: [
            {
              name: 'hasty',
              in: 'query',
              required: false,
              description: 'true or 1: answer 202 at once and produce in the background.',
              schema: { type: 'string', enum: ['true', '1', 'false', '0'] },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: ref('Events') },
              'text/plain': { schema: { type: 'string' } },
              'application/reports+json': { schema: ref('Events') },
            },
          },
          responses: {
            '201': { description: 'All events were accepted.' },
            '202': { description: 'Events hastily received (hasty=true).' },
            '207': jsonAnswer('Some events were accepted, some failed.', ref('EventResults')),
            '400': jsonAnswer('All events were invalid (EventResults), or the body was empty, not JSON or not events (RequestError).', {
              oneOf: [ref('EventResults'), ref('RequestError')],
            }),
            '408': requestError,
            '413': requestError,
            '415': requestError,
            '500': jsonAnswer('No event was accepted and some errored (EventResults), or the batch failed as a whole (RequestError).', {
              oneOf: [ref('EventResults'), ref('RequestError')],
            }),
            '503': jsonAnswer('Kafka, the thread pool or the schema repository is unavailable or busy; retry after Retry-After seconds.', {
              oneOf: [ref('EventResults'), ref('RequestError')],
            }),
            default: requestError,
          },
        },
      },
      '/v1/_test/events': {
        get: {
          operationId: 'testEvents',
          summary: 'Process the configured test_events as if they were posted.',
          responses: {
            '201': { description: 'All test events were accepted.' },
            '404': requestError,
          },
        },
      },
      '/v1/stream-configs': {
        get: {
          operationId: 'streamConfigs',
          summary: 'The stream configs in use.',
          responses: { '200': jsonAnswer('Stream name or /regex/ -> settings.', { type: 'object' }), '404': requestError },
        },
      },
      '/v1/stream-configs/{streams}': {
        get: {
          operationId: 'streamConfigsOf',
          summary: 'The stream configs of the named streams.',
          parameters: [
            { name: 'streams', in: 'path', required: true, description: 'Stream names separated by , or |.', schema: { type: 'string' } },
          ],
          responses: { '200': jsonAnswer('Stream name -> settings.', { type: 'object' }), '404': requestError },
        },
      },
      '/_info': { get: { operationId: 'info', responses: { '200': jsonAnswer('Service information.', ref('Info')) } } },
      '/_info/name': { get: { operationId: 'infoName', responses: { '200': jsonAnswer('Service name.', { type: 'object' }) } } },
      '/_info/version': { get: { operationId: 'infoVersion', responses: { '200': jsonAnswer('Service version.', { type: 'object' }) } } },
      '/_info/home': {
        get: { operationId: 'infoHome', responses: { '301': { description: 'Redirect to the home page (or to /?spec).' } } },
      },
      '/robots.txt': {
        get: { operationId: 'robots', responses: { '200': { description: 'Disallow all.', content: { 'text/plain': { schema: { type: 'string' } } } } } },
      },
      '/healthz': { get: { operationId: 'healthz', responses: { '200': jsonAnswer('The process is alive.', { type: 'object' }) } } },
      '/readyz': {
        get: {
          operationId: 'readyz',
          responses: {
            '200': jsonAnswer('Ready to take events.', { type: 'object' }),
            '503': jsonAnswer('Not ready, with the reason.', { type: 'object' }),
          },
        },
      },
      '/': {
        get: {
          operationId: 'spec',
          parameters: [{ name: 'spec', in: 'query', required: true, allowEmptyValue: true, schema: { type: 'string' } }],
          responses: { '200': jsonAnswer('This document.', { type: 'object' }) },
        },
      },
    },
    components: {
      schemas: {
        Event: { type: 'object', minProperties: 1, description: 'An event; its schema URI field names its JSON Schema.', additionalProperties: true },
        Events: { oneOf: [ref('Event'), { type: 'array', minItems: 1, items: ref('Event') }] },
        EventResult: {
          type: 'object',
          required: ['status', 'event', 'context'],
          properties: {
            status: { type: 'string', enum: ['invalid', 'error'] },
            event: {},
            context: {
              type: 'object',
              description: 'invalid: {errors, errorsText, code}; error: {message, code}. The code is in docs/errors.md.',
              required: ['code'],
              properties: {
                code: { type: 'string', pattern: '^EG_ERR_[A-Z0-9_]+$' },
                errors: { type: 'array' },
                errorsText: { type: 'string' },
                message: { type: 'string' },
              },
            },
          },
        },
        EventResults: {
          type: 'object',
          required: ['invalid'],
          additionalProperties: false,
          properties: { invalid: { type: 'array', items: ref('EventResult') }, error: { type: 'array', items: ref('EventResult') } },
        },
        RequestError: {
          type: 'object',
          required: ['code', 'message'],
          additionalProperties: false,
          properties: { code: { type: 'string', pattern: '^EG_ERR_[A-Z0-9_]+$' }, message: { type: 'string' } },
        },
        Info: {
          type: 'object',
          properties: { name: { type: 'string' }, version: { type: 'string' }, description: { type: 'string' }, home: { type: 'string' } },
        },
      },
    },
  };
  // Any status an operation does not list (404, 405, 500 ...) is a request error with a code.
  for (const item of Object.values(doc.paths) as Record<string, { responses: Record<string, unknown> }>[]) {
    for (const op of Object.values(item)) op.responses.default ??= requestError;
  }
  return doc;
}
