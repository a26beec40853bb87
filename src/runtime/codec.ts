/**
 * The only place that touches msgpackr. Typed arrays keep their types
 * (`moreTypes: true`), so delta batches cross threads (or, later, a network) as
 * compact binary with their Int32/Float32/Float64 arrays intact.
 */
import { Packr } from 'msgpackr';
import type { ActorMessage } from './messages.js';

const packr = new Packr({ moreTypes: true, structuredClone: false });

export function encode(msg: ActorMessage): Uint8Array {
  return packr.pack(msg);
}

export function decode(buf: Uint8Array): ActorMessage {
  return packr.unpack(buf) as ActorMessage;
}
