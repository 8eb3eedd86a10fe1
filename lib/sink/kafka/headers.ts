/**
 * The Kafka headers a producer puts on every message (kafka.message_headers).
 * They cost more than the rest of a produce call: node-rdkafka 3.6 converts
 * each header of each message from JS anew (its property names listed, key
 * and value copied three times), about 2.3 µs per header per message
 * against about 2.5 µs for the whole call without any (bench note of
 * issue 13). So each is the operator's choice, and the list for a call is
 * made once and shared by its messages.
 */
import type * as Kafka from 'node-rdkafka';
import type { MESSAGE_HEADER_NAMES } from '../../config/schema';

export type MessageHeaderName = (typeof MESSAGE_HEADER_NAMES)[number];

const CONTENT_TYPE: Kafka.MessageHeader = Object.freeze({ 'content-type': 'application/json' });

/** The headers of one produce call's messages, from the request id; undefined for none. */
export type HeaderMaker = (requestId: string | undefined) => Kafka.MessageHeader[] | undefined;

export function headerMaker(names: readonly MessageHeaderName[]): HeaderMaker {
  const contentType = names.includes('content-type');
  const requestId = names.includes('x-request-id');
  const fixed = contentType ? [CONTENT_TYPE] : undefined;
  if (!requestId) return () => fixed;
  return (id) => {
    if (!id) return fixed;
    const own: Kafka.MessageHeader = { 'x-request-id': id };
    return contentType ? [CONTENT_TYPE, own] : [own];
  };
}
