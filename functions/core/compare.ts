/**
 * String order by UTF-16 code unit: the order of ISO 8601 timestamps and of DynamoDB sort keys (for the ASCII
 * keys this system writes), the same on every machine. `localeCompare` depends on the runtime's ICU locale
 * and is many times slower, which shows when sorting thousands of log lines.
 */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
