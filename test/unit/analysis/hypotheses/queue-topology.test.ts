/**
 * The queue-backlog family finds a queue's consumer as the queue's callee in the topology (queue-backlog.ts). The
 * simulated telemetry draws that asynchronous edge, as a service map does for an SQS-triggered function: without
 * it the consumer is connected to nothing, the impact agent never reads it, and a backlog cannot be pinned on it.
 */
import { describe, expect, it } from 'vitest';
import { simulatedTools } from '../../../../functions/core/tools/simulated.ts';
import { generateIncidentOfFamily } from '../../../../functions/core/world/generator.ts';
import { createWorld } from '../../../../functions/core/world/world.ts';
import { MemoryWorldStore } from '../../../../functions/core/world/world-store.ts';

const NOW = new Date('2026-03-14T12:00:00.000Z');

describe('unit: the simulated topology draws a queue’s consumer as its callee', () => {
  it('shows the consumer under its queue, and reaches it from a producer', async () => {
    const { scenario } = generateIncidentOfFamily('queue-topology', 0, 'queue-backlog');
    const queue = scenario.services.find((s) => s.consumer)!;
    const consumer = queue.consumer!.service;
    const worlds = new MemoryWorldStore();
    await worlds.putWorld(createWorld(scenario, { id: 'queue-topology', now: NOW }));
    const tools = simulatedTools(worlds, { clock: () => NOW });
    const nodes = await tools.telemetry.getTopology({ environment: 'queue-topology' });
    expect(nodes.find((n) => n.name === queue.name)?.calls).toContain(consumer);
    // Still one edge per declared call: the consumer does not call its queue, and nothing else changed.
    for (const s of scenario.services) expect(nodes.find((n) => n.name === s.name)?.calls).toEqual([...s.calls, ...(s.consumer ? [s.consumer.service] : [])]);
    const producer = scenario.services.find((s) => s.calls.includes(queue.name))!;
    const reached = await tools.telemetry.getTopology({ environment: 'queue-topology', services: [producer.name] });
    expect(reached.map((n) => n.name)).toContain(consumer);
  });
});
