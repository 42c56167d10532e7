/**
 * The `/v2/events` Server-Sent Events stream (§14): `event: <type>` / `data: <json>` frames, filtered by the
 * `event_type` query parameters of each subscriber.
 */
import { ServerResponse } from 'node:http';
import { JsonObject, formatTimestamp } from './json';

interface Subscriber {
  res: ServerResponse;
  types: Set<string>;
}

/** Fans events out to every attached SSE client. */
export class EventBus {
  private readonly subscribers = new Set<Subscriber>();
  private readonly listeners = new Set<(event: JsonObject) => void>();

  /** Attaches a response as an SSE stream; `types` empty means every event. */
  attach(res: ServerResponse, types: string[], remoteAddress: string): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    // Like Jetty's EventSourceServlet (SEMANTICS.md §14): the headers go out at once, whatever the event_type filter,
    // so a client's `open` fires before the first matching event.
    res.flushHeaders();
    const sub: Subscriber = { res, types: new Set(types) };
    this.subscribers.add(sub);
    res.on('close', () => this.subscribers.delete(sub));
    this.write(sub, { remoteAddress, eventType: 'event_stream_attached', timestamp: formatTimestamp(Date.now()) });
  }

  /** In-process listeners (tests of the library, the bench); returns an unsubscribe function. */
  listen(fn: (event: JsonObject) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Publishes an event of `eventType` with `fields`, stamped with `eventType` and `timestamp` like Marathon's. */
  publish(eventType: string, fields: JsonObject): void {
    const event: JsonObject = { ...fields, eventType, timestamp: formatTimestamp(Date.now()) };
    for (const sub of this.subscribers) this.write(sub, event);
    for (const fn of this.listeners) fn(event);
  }

  private write(sub: Subscriber, event: JsonObject): void {
    const type = String(event.eventType);
    if (sub.types.size && !sub.types.has(type)) return;
    sub.res.write(`event: ${type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const sub of this.subscribers) sub.res.end();
    this.subscribers.clear();
  }
}
