/**
 * The only place that touches msgpackr. Typed arrays keep their types
 * (`moreTypes: true`), so delta batches cross threads (or, later, a network) as
 * compact binary with their Int32/Float32/Float64 arrays intact.
 */
import { Packr } from 'msgpackr';
import type { ActorMessage, CoordinatorMessage } from './messages.js';

const packr = new Packr({ moreTypes: true, structuredClone: false });

/**
 * A message as bytes in a buffer of their own, exactly sized, so it can be moved to
 * another thread in a transfer list (msgpackr may reuse its output buffer).
 */
export function encode(msg: ActorMessage | CoordinatorMessage): Uint8Array<ArrayBuffer> {
  const buf = packr.pack(msg);
  const own = new Uint8Array(new ArrayBuffer(buf.length));
  own.set(buf);
  return own;
}

/** An actor's message (from a peer or to the coordinator). */
export function decode(buf: Uint8Array): ActorMessage {
  return packr.unpack(buf) as ActorMessage;
}

/** A message from the coordinator to an actor. */
export function decodeCoordinator(buf: Uint8Array): CoordinatorMessage {
  return packr.unpack(buf) as CoordinatorMessage;
}
