import { describe, expect, it } from 'vitest';
import { InMemoryTokenBudget, InvalidTokenBudget } from '../../../functions/core/reasoning/budget.ts';

describe('unit: InMemoryTokenBudget', () => {
  it('tracks what each incident spent separately and never reports less than zero left', async () => {
    // Prepare
    const budget = new InMemoryTokenBudget(1_000);

    // Act
    await budget.consume('INC-1', 600);
    await budget.consume('INC-1', 600);
    await budget.consume('INC-2', 100);

    // Assess
    expect(await budget.remaining('INC-1')).toBe(0);
    expect(await budget.remaining('INC-2')).toBe(900);
    expect(await budget.remaining('INC-3')).toBe(1_000);
  });

  it('rejects a negative limit or charge with InvalidTokenBudget', async () => {
    expect(() => new InMemoryTokenBudget(-1)).toThrow(InvalidTokenBudget);
    await expect(new InMemoryTokenBudget(10).consume('INC-1', Number.NaN)).rejects.toThrow(/tokens must be a non-negative number/);
  });
});
