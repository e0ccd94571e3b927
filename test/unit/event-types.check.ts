// Type-level tests: `npm run typecheck` fails if a payload type stops following its schema.
import { defineEvent, defineStore } from '../../src/index.ts';
import type { EventInput, EventPayload, StoreDefinition } from '../../src/index.ts';

const orderPlaced = defineEvent({
  name: 'OrderPlaced',
  topic: 'shop.orders',
  schema: {
    type: 'record',
    name: 'OrderPlaced',
    fields: [
      { name: 'order_id', type: 'string' },
      { name: 'total', type: 'double' },
      { name: 'coupon', type: ['null', 'string'], default: null },
      { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'sku', type: 'string' }] } } },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
      { name: 'tags', type: { type: 'map', values: 'long' } },
    ],
  },
  key: (order) => order.order_id,
});

type Payload = EventPayload<typeof orderPlaced>;
type Input = EventInput<typeof orderPlaced>;

export const fullPayload: Payload = { order_id: 'o1', total: 2.5, coupon: null, items: [{ sku: 'a' }], status: 'PAID', tags: { x: 1 } };
export const inputWithoutDefaults: Input = { order_id: 'o1', total: 2.5, items: [], status: 'NEW', tags: {} };

// @ts-expect-error order_id is required and has no default
export const missingRequired: Input = { total: 1, items: [], status: 'NEW', tags: {} };
// @ts-expect-error total is a double, not a string
export const wrongType: Payload = { order_id: 'o1', total: '2', coupon: null, items: [], status: 'NEW', tags: {} };
// @ts-expect-error status is an enum of NEW and PAID
export const wrongSymbol: Input = { order_id: 'o1', total: 1, items: [], status: 'LOST', tags: {} };
// @ts-expect-error coupon may be left out of an input, but a decoded payload always has it
export const payloadWithoutDefault: Payload = { order_id: 'o1', total: 1, items: [], status: 'NEW', tags: {} };

const totals = defineStore({ name: 'totals', value: { type: 'record', name: 'Totals', fields: [{ name: 'sum', type: 'double' }] } });
export const storeType: StoreDefinition<{ sum: number }> = totals;
